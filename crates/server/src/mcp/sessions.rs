//! rmcp's session store on PostgreSQL: a session `initialize`d on one instance is restored on
//! any other, so `/mcp` needs no sticky sessions behind a load balancer.

use casework_adapters::postgres::PgStore;
use rmcp::transport::streamable_http_server::session::{SessionState, SessionStore, SessionStoreError};

/// The store.
pub struct PgSessions {
    store: PgStore,
}

impl PgSessions {
    /// Sessions in `store`'s database.
    pub fn new(store: PgStore) -> Self {
        Self { store }
    }
}

fn now() -> casework_domain::Timestamp {
    use casework_domain::ports::Clock;
    casework_adapters::system::SystemClock.now()
}

#[async_trait::async_trait]
impl SessionStore for PgSessions {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let Some(value) = self.store.load_mcp_session(session_id).await? else { return Ok(None) };
        Ok(Some(serde_json::from_value(value)?))
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let value = serde_json::to_value(state)?;
        Ok(self.store.store_mcp_session(session_id, &value, now()).await?)
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        Ok(self.store.delete_mcp_session(session_id).await?)
    }
}
