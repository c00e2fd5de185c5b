//! MCP sessions (the client's `initialize`, as JSON), kept so any instance can serve a session
//! another instance started. The workers forget sessions a day after they started.

use casework_domain::Timestamp;
use casework_domain::ports::StoreError;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;

use super::PgStore;
use super::errors::unavailable_or_unknown;
use super::schema::mcp_sessions;

impl PgStore {
    /// The stored state of MCP session `id`.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn load_mcp_session(&self, id: &str) -> Result<Option<Value>, StoreError> {
        let mut connection = self.connection().await?;
        mcp_sessions::table
            .filter(mcp_sessions::id.eq(id))
            .select(mcp_sessions::state)
            .first(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)
    }

    /// Stores (or replaces) the state of MCP session `id`.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn store_mcp_session(&self, id: &str, state: &Value, now: Timestamp) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        diesel::insert_into(mcp_sessions::table)
            .values((mcp_sessions::id.eq(id), mcp_sessions::state.eq(state), mcp_sessions::created_at.eq(now)))
            .on_conflict(mcp_sessions::id)
            .do_update()
            .set(mcp_sessions::state.eq(state))
            .execute(&mut *connection)
            .await
            .map(|_| ())
            .map_err(unavailable_or_unknown)
    }

    /// Forgets MCP session `id`.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn delete_mcp_session(&self, id: &str) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        diesel::delete(mcp_sessions::table)
            .filter(mcp_sessions::id.eq(id))
            .execute(&mut *connection)
            .await
            .map(|_| ())
            .map_err(unavailable_or_unknown)
    }

    /// Forgets MCP sessions started before `before`; returns how many.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn prune_mcp_sessions(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut connection = self.connection().await?;
        diesel::delete(mcp_sessions::table)
            .filter(mcp_sessions::created_at.lt(before))
            .execute(&mut *connection)
            .await
            .map(|count| u64::try_from(count).unwrap_or(0))
            .map_err(unavailable_or_unknown)
    }
}
