//! The case object (API.md §1, Case; §5), and the case with its `session` embedded.

use casework_domain::case::{
    CaseStatus, Decision, Priority, Recommendation as DomainRecommendation, RejectionReasonCode, SlaStatus,
};
use casework_domain::service::CaseView;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::session::Session;
use crate::wire::{DataMap, Spelling, Time};

/// A case: every field always present, null where empty.
#[derive(Debug, Serialize, ToSchema)]
pub struct Case {
    /// Public id, `rvc_…`.
    pub id: String,
    /// The case's UUID.
    pub uuid: Uuid,
    /// The session's UUID.
    pub session_id: Uuid,
    /// Lifecycle status (a lapsed lease reads as released).
    #[schema(schema_with = crate::wire::spelling::<CaseStatus>)]
    pub status: Spelling<CaseStatus>,
    /// Null until final.
    #[schema(schema_with = crate::wire::optional_spelling::<Decision>)]
    #[schema(required = true)]
    pub decision: Option<Spelling<Decision>>,
    /// Queue priority.
    #[schema(schema_with = crate::wire::spelling::<Priority>)]
    pub priority: Spelling<Priority>,
    /// Org user UUID: the lease holder, an assignee, or the decider.
    #[schema(required = true)]
    pub assigned_to: Option<Uuid>,
    /// Start of the current claim.
    #[schema(required = true)]
    pub claimed_at: Option<Time>,
    /// End of the current claim lease.
    #[schema(required = true)]
    pub claim_expires_at: Option<Time>,
    /// Set once, at creation (the SLA anchor).
    pub entered_review_at: Time,
    /// When the case was finally decided.
    #[schema(required = true)]
    pub decided_at: Option<Time>,
    /// Org user UUID.
    #[schema(required = true)]
    pub escalated_to: Option<Uuid>,
    /// Why it was escalated.
    #[schema(required = true)]
    pub escalation_reason: Option<String>,
    /// Dual review: the first reviewer's recommendation.
    #[schema(required = true)]
    pub recommendation: Option<Recommendation>,
    /// Free text, with a rejection.
    #[schema(required = true)]
    pub rejection_reason: Option<String>,
    /// The rejection's code.
    #[schema(schema_with = crate::wire::optional_spelling::<RejectionReasonCode>)]
    #[schema(required = true)]
    pub rejection_reason_code: Option<Spelling<RejectionReasonCode>>,
    /// Sorted and unique.
    pub tags: Vec<String>,
    /// Client key/values.
    pub metadata: DataMap,
    /// Client key/values.
    pub custom_fields: DataMap,
    /// Where the case stands against its 24 h SLA.
    pub sla: Sla,
    /// A demo case (sandbox only).
    pub is_demo: bool,
    /// 1 at creation, +1 on every change; also the `ETag`.
    pub version: u64,
    /// Creation time.
    pub created_at: Time,
    /// Last change.
    pub updated_at: Time,
}

/// `{status, due_at, age_seconds}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Sla {
    /// `on_track`, `approaching`, `overdue`, `met` or `missed`.
    #[schema(schema_with = crate::wire::spelling::<SlaStatus>)]
    pub status: Spelling<SlaStatus>,
    /// `entered_review_at` + 24 h.
    pub due_at: Time,
    /// Whole seconds in review, frozen at the decision.
    pub age_seconds: i64,
}

/// A dual-review recommendation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Recommendation {
    /// What the first reviewer recommends.
    #[schema(schema_with = crate::wire::spelling::<Decision>)]
    pub decision: Spelling<Decision>,
    /// The recommender's UUID.
    pub reviewer_id: Uuid,
    /// Their notes.
    #[schema(required = true)]
    pub notes: Option<String>,
    /// With a recommended rejection.
    #[schema(required = true)]
    pub rejection_reason: Option<String>,
    /// With a recommended rejection.
    #[schema(schema_with = crate::wire::optional_spelling::<RejectionReasonCode>)]
    #[schema(required = true)]
    pub rejection_reason_code: Option<Spelling<RejectionReasonCode>>,
    /// Whether the rejection should add to the blocklist.
    pub add_to_blocklist: bool,
    /// When.
    pub at: Time,
}

impl From<&DomainRecommendation> for Recommendation {
    fn from(recommendation: &DomainRecommendation) -> Self {
        Self {
            decision: recommendation.decision.into(),
            reviewer_id: recommendation.reviewer_id.uuid(),
            notes: recommendation.notes.clone(),
            rejection_reason: recommendation.rejection_reason.clone(),
            rejection_reason_code: recommendation.rejection_reason_code.map(Spelling),
            add_to_blocklist: recommendation.add_to_blocklist,
            at: recommendation.at.into(),
        }
    }
}

impl From<&CaseView> for Case {
    fn from(view: &CaseView) -> Self {
        let case = &view.case;
        let lease = case.lease.as_ref();
        Self {
            id: case.id.public(),
            uuid: case.id.uuid(),
            session_id: case.session_id.uuid(),
            status: case.status.into(),
            decision: case.decision.map(Spelling),
            priority: case.priority.into(),
            assigned_to: case.assigned_to.map(|id| id.uuid()),
            claimed_at: lease.map(|l| l.claimed_at.into()),
            claim_expires_at: lease.map(|l| l.expires_at.into()),
            entered_review_at: case.entered_review_at.into(),
            decided_at: case.decided_at.map(Time),
            escalated_to: case.escalated_to.map(|id| id.uuid()),
            escalation_reason: case.escalation_reason.clone(),
            recommendation: case.recommendation.as_ref().map(Recommendation::from),
            rejection_reason: case.rejection_reason.clone(),
            rejection_reason_code: case.rejection_reason_code.map(Spelling),
            tags: case.tags.iter().map(|tag| tag.as_str().to_owned()).collect(),
            metadata: case.metadata.to_value().into(),
            custom_fields: case.custom_fields.to_value().into(),
            sla: Sla {
                status: view.sla.status.into(),
                due_at: view.sla.due_at.into(),
                age_seconds: view.sla.age_seconds,
            },
            is_demo: case.is_demo,
            version: case.version,
            created_at: case.created_at.into(),
            updated_at: case.updated_at.into(),
        }
    }
}

/// The case with its session, the evidence in one object (`GET /cases/{id}`, `next`, `demo`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseWithSession {
    /// The case's fields.
    #[serde(flatten)]
    pub case: Case,
    /// Its session.
    pub session: Session,
}
