//! Notes: append-only comments on a case; they do not change its `version`.

use crate::Timestamp;
use crate::id::{CaseId, NoteId, OrgUserId};
use crate::validation::{Violation, check_length};

/// At most this many characters (after trimming).
pub const MAX_NOTE_CHARS: usize = 10_000;

/// A note's content: 1–10 000 characters, stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteContent(String);

impl NoteContent {
    /// Trims and validates.
    ///
    /// # Errors
    /// Empty after trimming, or over 10 000 characters.
    pub fn parse(text: &str) -> Result<Self, Violation> {
        let trimmed = text.trim();
        check_length(trimmed, 1, MAX_NOTE_CHARS)?;
        Ok(Self(trimmed.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who wrote a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorType {
    /// A reviewer (the request had one).
    Org,
    /// An API key without a reviewer.
    Api,
}

crate::spelled!(AuthorType: Org, Api);

impl AuthorType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Org => "org",
            Self::Api => "api",
        }
    }
}

/// A note on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Its id.
    pub id: NoteId,
    /// The case it is on.
    pub case_id: CaseId,
    /// The reviewer's or the key's name.
    pub author_name: String,
    /// Reviewer or key.
    pub author_type: AuthorType,
    /// The reviewer, when there was one.
    pub author_id: Option<OrgUserId>,
    /// The text.
    pub content: NoteContent,
    /// When it was written.
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_trimmed_and_bounded() {
        assert_eq!(NoteContent::parse("  hi \n").map(|c| c.as_str().to_owned()), Ok("hi".to_owned()));
        assert_eq!(NoteContent::parse("   "), Err(Violation::TooShort));
        assert_eq!(NoteContent::parse(&"x".repeat(10_001)), Err(Violation::TooLong));
        assert!(NoteContent::parse(&"x".repeat(10_000)).is_ok());
    }
}
