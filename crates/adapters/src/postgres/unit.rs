//! A request run once under its idempotency key, as one unit of work: the record's claim, every
//! statement the request runs and the response it stored commit together, in one transaction on
//! one connection — one durable commit instead of three, and no gap between a committed change
//! and its stored response (a lost acknowledgement of the `COMMIT` leaves either both or
//! neither, so a retry replays or runs, never repeats).
//!
//! While a unit runs, [`PgStore::connection`] hands every statement of that task the unit's
//! connection (its own transactions become savepoints), through a task-local. A second request
//! with the same key meanwhile finds the key's advisory lock held: "in progress", as before.
//! Side effects on this instance's memory that must follow a commit (forgetting cached keys or
//! settings) are registered with [`PgStore::after_commit`] and run again once the unit commits.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex as StdMutex};

use casework_domain::Timestamp;
use casework_domain::ports::{IdempotencyScope, IdempotencyStart, IdempotencyStore, StoreError, StoredResponse};
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, TransactionManager};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::errors::{Unavailable, unavailable_or_unknown};
use super::{PgConn, PgStore};

/// How long a statement waits for the unit's connection before the wait is reported as a fault
/// (a store method holding the connection while calling another would otherwise hang).
const SHARED_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

tokio::task_local! {
    static CURRENT: Arc<Unit>;
}

/// The unit a task runs in.
pub(super) struct Unit {
    /// Which store's pool the connection came from: another store's statements are not joined.
    store: usize,
    connection: Arc<Mutex<PgConn>>,
    after_commit: StdMutex<Vec<Box<dyn FnOnce() + Send>>>,
}

/// A connection: the pool's own, or the running unit's.
#[expect(clippy::large_enum_variant, reason = "lives in one statement group's future; boxing costs every request")]
pub(super) enum Connection {
    Pooled(PgConn),
    InUnit(OwnedMutexGuard<PgConn>),
}

impl Connection {
    /// Whether this is a unit's connection: already inside the unit's transaction, which rolls
    /// back whole on any fault.
    pub(super) fn in_unit(&self) -> bool {
        matches!(self, Self::InUnit(_))
    }
}

impl Deref for Connection {
    type Target = AsyncPgConnection;

    fn deref(&self) -> &AsyncPgConnection {
        match self {
            Self::Pooled(connection) => connection,
            Self::InUnit(connection) => connection,
        }
    }
}

impl DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        match self {
            Self::Pooled(connection) => connection,
            Self::InUnit(connection) => connection,
        }
    }
}

/// What running a request under its key came to.
#[derive(Debug)]
pub enum Once<T> {
    /// The request ran; what became of its changes.
    Ran(T, Outcome),
    /// Used before with the same request: its stored response.
    Replay(StoredResponse),
    /// Used before with a different request.
    Mismatch,
    /// Another request with the key is running.
    InProgress,
}

/// Whether a request's changes and response were committed.
#[derive(Debug)]
pub enum Outcome {
    /// Committed, with the stored response.
    Committed,
    /// The request kept nothing (a 5xx): rolled back.
    RolledBack,
    /// Storing the response or committing failed: nothing was committed (or, when the
    /// connection was lost during the commit, both were: a retry then replays). The response
    /// the work meant to keep comes back.
    NotCommitted(StoreError, StoredResponse),
}

/// What the work inside the unit came to, before the commit.
enum Step<T> {
    Refused(Once<T>),
    Keep(T, StoredResponse),
    Discard(T),
    Failed(T, StoreError, StoredResponse),
}

/// Whether this task runs inside a unit.
pub(super) fn running() -> bool {
    CURRENT.try_with(|_| ()).is_ok()
}

impl PgStore {
    /// This store's identity (clones share it).
    fn identity(&self) -> usize {
        Arc::as_ptr(&self.identity) as usize
    }

    /// The running unit's connection when this task is in one of this store's units, else a
    /// pooled one (or "unavailable" when none comes within the wait timeout).
    pub(super) async fn connection(&self) -> Result<Connection, Unavailable> {
        let shared = CURRENT.try_with(|unit| (unit.store == self.identity()).then(|| Arc::clone(&unit.connection)));
        if let Ok(Some(shared)) = shared {
            return match tokio::time::timeout(SHARED_WAIT, shared.lock_owned()).await {
                Ok(guard) => Ok(Connection::InUnit(guard)),
                Err(_) => Err(Unavailable(anyhow::anyhow!("the unit's connection stayed busy"))),
            };
        }
        self.pooled_connection().await.map(Connection::Pooled)
    }

    /// Runs `forget` now and, inside a unit, once more after it commits (a read between the two
    /// could otherwise keep what the uncommitted change is about to replace).
    pub(super) fn after_commit(&self, forget: impl Fn() + Send + 'static) {
        forget();
        let _outside = CURRENT.try_with(|unit| {
            if let Ok(mut hooks) = unit.after_commit.lock() {
                hooks.push(Box::new(forget));
            }
        });
    }

    /// Runs `work` once under `scope`: claims the key (or answers what it already holds), runs
    /// the work with every statement in one transaction, stores the response it returns and
    /// commits; a work that returns no response to keep (a 5xx) is rolled back whole.
    ///
    /// # Errors
    /// [`StoreError`] when the key could not be claimed (nothing ran).
    pub async fn once<T, F, Fut>(
        &self,
        scope: &IdempotencyScope,
        fingerprint: &[u8],
        request_id: &str,
        now: Timestamp,
        work: F,
    ) -> Result<Once<T>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = (T, Option<StoredResponse>)>,
    {
        let mut connection = self.pooled_connection().await?;
        AnsiTransactionManager::begin_transaction(&mut *connection).await.map_err(unavailable_or_unknown)?;
        let unit = Arc::new(Unit {
            store: self.identity(),
            connection: Arc::new(Mutex::new(connection)),
            after_commit: StdMutex::default(),
        });
        // The unit's work: the key's lock and record, the request, its stored response.
        let run = async {
            // The key's advisory lock is held to the commit; the record's own hold (`lock_until`)
            // matters only to a record an older version left in progress.
            let attempt = match self.begin(scope, fingerprint, request_id, now, now).await? {
                IdempotencyStart::Started(attempt) => attempt,
                IdempotencyStart::Replay(stored) => return Ok(Step::Refused(Once::Replay(stored))),
                IdempotencyStart::Mismatch => return Ok(Step::Refused(Once::Mismatch)),
                IdempotencyStart::InProgress => return Ok(Step::Refused(Once::InProgress)),
            };
            let (value, response) = work().await;
            let Some(response) = response else { return Ok(Step::Discard(value)) };
            Ok(match self.complete(scope, attempt, &response).await {
                Ok(true) => Step::Keep(value, response),
                Ok(false) => {
                    Step::Failed(value, StoreError::Unknown(anyhow::anyhow!("the claimed record vanished")), response)
                }
                Err(error) => Step::Failed(value, error, response),
            })
        };
        let step: Result<Step<T>, StoreError> = CURRENT.scope(Arc::clone(&unit), run).await;
        let mut connection = Arc::clone(&unit.connection).lock_owned().await;
        if !matches!(step, Ok(Step::Keep(..))) {
            // Refused, failed or discarded: nothing of the unit stays.
            let _ = AnsiTransactionManager::rollback_transaction(&mut **connection).await;
        }
        Ok(match step? {
            Step::Refused(refusal) => refusal,
            Step::Discard(value) => Once::Ran(value, Outcome::RolledBack),
            Step::Failed(value, error, response) => Once::Ran(value, Outcome::NotCommitted(error, response)),
            Step::Keep(value, response) => match AnsiTransactionManager::commit_transaction(&mut **connection).await {
                Ok(()) => {
                    let hooks = unit.after_commit.lock().map(|mut hooks| std::mem::take(&mut *hooks));
                    for hook in hooks.unwrap_or_default() {
                        hook();
                    }
                    Once::Ran(value, Outcome::Committed)
                }
                Err(error) => Once::Ran(value, Outcome::NotCommitted(unavailable_or_unknown(error), response)),
            },
        })
    }
}
