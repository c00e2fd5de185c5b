//! The case's enumerations and validated values: status, decision, priority, tags.

use std::collections::BTreeSet;

use crate::validation::{Violation, check_length};

string_enum! {
    /// Lifecycle status (API.md §2).
    CaseStatus {
        /// Waiting in the queue.
        Open = "open",
        /// Claimed under a live lease.
        InReview = "in_review",
        /// Escalated, optionally to a named reviewer.
        Escalated = "escalated",
        /// Dual review: recommended, waiting for a different reviewer.
        PendingSecondReview = "pending_second_review",
        /// Finally approved.
        Approved = "approved",
        /// Finally rejected.
        Rejected = "rejected",
    }
}

impl CaseStatus {
    /// `approved` and `rejected`.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Approved | Self::Rejected)
    }
}

string_enum! {
    /// A final decision.
    Decision {
        /// The identity is accepted.
        Approved = "approved",
        /// The identity is refused.
        Rejected = "rejected",
    }
}

impl Decision {
    /// The final status this decision leads to.
    pub fn final_status(self) -> CaseStatus {
        match self {
            Self::Approved => CaseStatus::Approved,
            Self::Rejected => CaseStatus::Rejected,
        }
    }
}

string_enum! {
    /// Queue priority, ordered `low < normal < high < urgent`.
    Priority {
        /// Lowest.
        Low = "low",
        /// The default.
        Normal = "normal",
        /// Before normal.
        High = "high",
        /// First.
        Urgent = "urgent",
    }
}

impl Priority {
    /// 0 for low … 3 for urgent; the claim-next index sorts on it descending.
    pub fn rank(self) -> i16 {
        match self {
            Self::Low => 0,
            Self::Normal => 1,
            Self::High => 2,
            Self::Urgent => 3,
        }
    }
}

string_enum! {
    /// Coded reason of a rejection.
    RejectionReasonCode {
        /// Forged or altered document.
        DocumentFraud = "document_fraud",
        /// Unreadable or unsupported document.
        DocumentInvalid = "document_invalid",
        /// Expired document.
        DocumentExpired = "document_expired",
        /// The face does not match the document.
        FaceMismatch = "face_mismatch",
        /// Liveness failed.
        LivenessFailed = "liveness_failed",
        /// Found on a watchlist.
        WatchlistMatch = "watchlist_match",
        /// Under the minimum age.
        Underage = "underage",
        /// The identity exists already.
        DuplicateIdentity = "duplicate_identity",
        /// Data does not match.
        DataMismatch = "data_mismatch",
        /// Anything else.
        Other = "other",
    }
}

/// At most this many tags per case.
pub const MAX_TAGS: usize = 20;

/// A tag: 1–64 characters of `[a-z0-9_:-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

impl Tag {
    /// Validates a tag.
    ///
    /// # Errors
    /// Too short, too long, or a character outside `[a-z0-9_:-]`.
    pub fn parse(text: &str) -> Result<Self, Violation> {
        check_length(text, 1, 64)?;
        if !text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b':' | b'-')) {
            return Err(Violation::InvalidValue);
        }
        Ok(Self(text.to_owned()))
    }

    /// The tag's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A case's tags: sorted, unique, at most 20.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags(BTreeSet<Tag>);

impl Tags {
    /// Collects tags; duplicates collapse.
    ///
    /// # Errors
    /// [`Violation::TooMany`] over 20 distinct tags.
    pub fn new(tags: impl IntoIterator<Item = Tag>) -> Result<Self, Violation> {
        let set: BTreeSet<Tag> = tags.into_iter().collect();
        if set.len() > MAX_TAGS { Err(Violation::TooMany) } else { Ok(Self(set)) }
    }

    /// The tags, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter()
    }

    /// Whether the case carries `tag`.
    pub fn contains(&self, tag: &Tag) -> bool {
        self.0.contains(tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_validate_their_alphabet_and_length() {
        assert!(Tag::parse("pep:high-risk_2").is_ok());
        assert_eq!(Tag::parse(""), Err(Violation::TooShort));
        assert_eq!(Tag::parse(&"a".repeat(65)), Err(Violation::TooLong));
        assert_eq!(Tag::parse("PEP"), Err(Violation::InvalidValue));
        assert_eq!(Tag::parse("a b"), Err(Violation::InvalidValue));
    }

    #[test]
    fn tags_are_sorted_unique_and_bounded() {
        let tags = Tags::new(["b", "a", "b"].into_iter().filter_map(|t| Tag::parse(t).ok())).unwrap_or_default();
        assert_eq!(tags.iter().map(Tag::as_str).collect::<Vec<_>>(), vec!["a", "b"]);
        let many = (0..21).filter_map(|i| Tag::parse(&format!("t{i}")).ok());
        assert_eq!(Tags::new(many), Err(Violation::TooMany));
    }

    #[test]
    fn priority_ranks_urgent_highest() {
        assert!(Priority::Urgent.rank() > Priority::High.rank());
        assert!(Priority::High.rank() > Priority::Normal.rank());
        assert!(Priority::Normal.rank() > Priority::Low.rank());
    }

    #[test]
    fn every_status_spelling_round_trips() {
        for status in CaseStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(*status));
        }
    }
}
