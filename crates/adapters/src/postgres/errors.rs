//! Driver errors, translated by their kind, never their message: constraint violations by
//! constraint name into domain variants; lost connections, pool timeouts, broken transactions,
//! failed commits, a standby's refusal and serialization failures into "unavailable" (503); the
//! rest into "unknown" (500, logged once by the HTTP edge, which first checks whether the
//! database is still there: see [`is_unexplained_refusal`]).

use casework_domain::ports::{SaveChangeError, StoreError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::deadpool::PoolError;

/// No connection could be had in time, or the server went away.
#[derive(Debug, thiserror::Error)]
#[error("database unavailable")]
pub struct Unavailable(#[source] pub anyhow::Error);

impl Unavailable {
    /// A pool failure: a wait timeout, a failed connect, a closed pool.
    pub fn from_pool(error: PoolError) -> Self {
        Self(anyhow::Error::new(error))
    }
}

impl From<Unavailable> for StoreError {
    fn from(error: Unavailable) -> Self {
        Self::Unavailable(error.0)
    }
}

/// What a failed statement means.
#[derive(Debug)]
pub enum Failure {
    /// A unique, foreign-key or check constraint refused the write; its name says which rule.
    Constraint {
        /// The violated constraint's name.
        name: String,
    },
    /// Retry later.
    Unavailable(anyhow::Error),
    /// Anything else.
    Unknown(anyhow::Error),
}

/// Classifies a Diesel error.
pub fn classify(error: DieselError) -> Failure {
    match &error {
        DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation
            | DatabaseErrorKind::ForeignKeyViolation
            | DatabaseErrorKind::CheckViolation,
            info,
        ) => match info.constraint_name() {
            Some(name) => Failure::Constraint { name: name.to_owned() },
            None => Failure::Unknown(anyhow::Error::new(error)),
        },
        // The connection went away (an I/O failure carries no SQLSTATE and reads as "unable to
        // send"), the server is a standby after a failover, or a retryable conflict.
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection
            | DatabaseErrorKind::UnableToSendCommand
            | DatabaseErrorKind::ReadOnlyTransaction
            | DatabaseErrorKind::SerializationFailure,
            _,
        ) => Failure::Unavailable(anyhow::Error::new(error)),
        // A transaction whose connection died under it: its state on the server is unknown.
        DieselError::BrokenTransactionManager
        | DieselError::AlreadyInTransaction
        | DieselError::NotInTransaction
        | DieselError::RollbackErrorOnCommit { .. } => Failure::Unavailable(anyhow::Error::new(error)),
        _ => Failure::Unknown(anyhow::Error::new(error)),
    }
}

/// A failed change's database error.
pub fn save_error(error: DieselError) -> SaveChangeError {
    match classify(error) {
        Failure::Unavailable(e) => SaveChangeError::Unavailable(e),
        Failure::Constraint { name } => SaveChangeError::Unknown(anyhow::anyhow!("unexpected violation of {name}")),
        Failure::Unknown(e) => SaveChangeError::Unknown(e),
    }
}

/// A Diesel error as a [`StoreError`], for operations with no constraint of their own.
pub fn unavailable_or_unknown(error: DieselError) -> StoreError {
    match classify(error) {
        Failure::Unavailable(e) => StoreError::Unavailable(e),
        Failure::Constraint { name } => StoreError::Unknown(anyhow::anyhow!("unexpected violation of {name}")),
        Failure::Unknown(e) => StoreError::Unknown(e),
    }
}

/// Whether `cause` is a statement the server refused for a reason the driver does not name:
/// diesel-async keeps only a few SQLSTATEs, so a server shutting down (57P01–57P03), a statement
/// timeout (57014) and a bug in a statement all arrive alike. Messages are never read (they
/// follow the server's `lc_messages`); the HTTP edge tells these apart by the database's state.
pub fn is_unexplained_refusal(cause: &anyhow::Error) -> bool {
    matches!(cause.downcast_ref::<DieselError>(), Some(DieselError::DatabaseError(DatabaseErrorKind::Unknown, _)))
}

/// A stored value that does not decode into the domain (a bug or a hand-edited row).
pub fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Unknown(anyhow::anyhow!("stored {what} does not decode: {detail}"))
}
