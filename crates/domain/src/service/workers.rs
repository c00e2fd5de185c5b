//! What the background workers run: persisting lapsed claims and recomputing check summaries.
//! Both are safe with many instances: each row is handled under a lock the others skip.

use super::CaseService;
use crate::case::Case;
use crate::case::lifecycle::Transition;
use crate::case::queue::Retention;
use crate::ports::{
    CaseChange, CaseRepository, Clock, DirectoryRepository, IdGenerator, SessionChange, SessionRepository, StoreError,
};
use crate::session::ChecksSummary;

impl<R, C, G> CaseService<R, C, G>
where
    R: CaseRepository + SessionRepository + DirectoryRepository,
    C: Clock,
    G: IdGenerator,
{
    /// The change of a transition the system made on `case` (no note, nothing on the session).
    fn system_change(&self, case: &Case, transition: Transition) -> CaseChange {
        let event = self.record(case, transition.event);
        CaseChange { case: transition.case, events: vec![event], note: None, session: SessionChange::default() }
    }

    /// Persists up to `limit` lapsed leases (event `claim_expired`, actor `system`).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn sweep_lapsed_claims(&self, limit: u32) -> Result<u32, StoreError> {
        let now = self.clock.now();
        self.repo
            .sweep_lapsed(now, limit, |case| case.lapse(now).map(|transition| self.system_change(&case, transition)))
            .await
    }

    /// Wipes the PII of up to `limit` sessions past their environment's retention.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn wipe_expired_pii(&self, limit: u32) -> Result<u32, StoreError> {
        let now = self.clock.now();
        self.repo
            .wipe_expired_pii(now, &Retention::default(), limit, |case| {
                Some(self.system_change(&case, case.redact(now)))
            })
            .await
    }

    /// Recomputes up to `limit` check summaries left stale by overrides.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn refresh_check_summaries(&self, limit: u32) -> Result<u32, StoreError> {
        self.repo.refresh_summaries(limit, ChecksSummary::of).await
    }
}
