//! Sandbox sessions (API.md §1): `simulate` applies an outcome, `generate-one-time-link` makes a
//! capture link, and the capture page applies an outcome through its link. All sandbox only.

use time::Duration;

use super::CaseService;
use crate::case::Actor;
use crate::id::SessionId;
use crate::ports::{
    CaptureLink, CaseRepository, Clock, DirectoryRepository, IdGenerator, Pii, SandboxRepository, SessionRepository,
    SimulateWrite, SimulatedChange, StoreError,
};
use crate::session::{Session, SessionEventType, SessionNotice, SimulateAction};
use crate::tenant::{Environment, Tenant};

/// Why a sandbox call was refused.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// 403 `sandbox_only`: a live key.
    #[error("sandbox only")]
    SandboxOnly,
    /// 404: no such session (or link).
    #[error("not found")]
    NotFound,
    /// 409 `invalid_transition`: the session's status allows no simulation.
    #[error("a {0} session cannot be simulated")]
    InvalidTransition(&'static str),
    /// See [`StoreError`].
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long a capture link lives by default, and at most.
pub const LINK_MINUTES: (i64, i64) = (30, 10_080);

impl<R, C, G> CaseService<R, C, G>
where
    R: CaseRepository + SessionRepository + DirectoryRepository + SandboxRepository,
    C: Clock,
    G: IdGenerator,
{
    /// Applies `action` to a sandbox session; `link` is the capture link whose button this is
    /// (consumed in the same transaction). The session returned carries its PII per `pii`.
    ///
    /// # Errors
    /// [`SandboxError`].
    pub async fn simulate(
        &self,
        tenant: Tenant,
        actor: Actor,
        session_id: SessionId,
        action: SimulateAction,
        link: Option<&[u8]>,
        pii: Pii,
    ) -> Result<Session, SandboxError> {
        if tenant.environment != Environment::Sandbox {
            return Err(SandboxError::SandboxOnly);
        }
        let session = self.repo.find_session(tenant, session_id, pii).await?.ok_or(SandboxError::NotFound)?;
        let now = self.clock.now();
        let simulated = action.apply(&session, now).ok_or(SandboxError::InvalidTransition(session.status.as_str()))?;
        let mut next = simulated.session;
        let opened =
            (action == SimulateAction::RequireReview).then(|| self.open(tenant, session.id, false, actor, now));
        if let Some(opened) = &opened {
            next.case_id = Some(opened.case.id);
        }
        let change = SimulatedChange {
            from: session.status,
            session: &next,
            opened: opened.as_ref(),
            notice: SessionNotice { id: self.ids.generate(), event: simulated.event },
            link,
            now,
        };
        match self.repo.simulate_session(&change).await? {
            SimulateWrite::Applied => Ok(next),
            SimulateWrite::StatusChanged => Err(SandboxError::InvalidTransition("changed")),
            SimulateWrite::LinkSpent => Err(SandboxError::NotFound),
        }
    }

    /// Makes a one-time capture link for a sandbox session, valid `minutes` (API.md §1); the
    /// caller made the token and passes its hash.
    ///
    /// # Errors
    /// [`SandboxError`].
    pub async fn capture_link(
        &self,
        tenant: Tenant,
        session_id: SessionId,
        token_hash: Vec<u8>,
        minutes: i64,
    ) -> Result<CaptureLink, SandboxError> {
        if tenant.environment != Environment::Sandbox {
            return Err(SandboxError::SandboxOnly);
        }
        let session = self.repo.find_session(tenant, session_id, Pii::Omit).await?.ok_or(SandboxError::NotFound)?;
        let now = self.clock.now();
        let link = CaptureLink {
            token_hash,
            tenant,
            session_id: session.id,
            expires_at: now + Duration::minutes(minutes),
            created_at: now,
        };
        let notice = SessionNotice { id: self.ids.generate(), event: SessionEventType::LinkGenerated };
        self.repo.insert_capture_link(&link, notice).await?;
        Ok(link)
    }

    /// The live link with this token hash and its session (no PII), if any.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn open_capture_link(&self, token_hash: &[u8]) -> Result<Option<(CaptureLink, Session)>, StoreError> {
        self.repo.find_capture_link(token_hash, self.clock.now()).await
    }
}
