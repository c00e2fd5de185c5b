//! Statements PostgreSQL keeps prepared, found again by their SQL text.
//!
//! Diesel marks as "unsafe to cache" every statement whose text can vary for one Rust type: all
//! updates, inserts with optional columns or several rows, upserts, raw SQL, conditions written
//! as SQL. diesel-async then prepares such a statement afresh on each run: a parse and a plan by
//! PostgreSQL and one more round trip, every time. Wrapped in [`Prepared`], a statement is
//! cached by its text instead — always correct, since the text fixes the statement. Only the
//! statements of the hot paths whose texts come in a few shapes are wrapped: each distinct text
//! stays prepared on its connection for the connection's life.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

/// A statement cached by its SQL text (see the module docs).
#[derive(Debug, Clone, Copy)]
pub(super) struct Prepared<Q>(pub Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    // No static id: the statement cache then keys the statement by its text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}
