//! Query parameters: lists (repeated or comma-separated), pagination and dates, each bad value a
//! 422 naming the parameter; unknown parameters are ignored.

use std::str::FromStr;

use actix_web::HttpRequest;
use casework_domain::Timestamp;
use casework_domain::page::PageRequest;
use casework_domain::validation::{FieldErrors, Violation};

use super::error::ApiError;

/// The parsed query string of one request.
pub struct Query {
    pairs: Vec<(String, String)>,
    errors: FieldErrors,
}

impl Query {
    /// Parses the request's query string.
    ///
    /// # Errors
    /// 400 when the query string is not valid URL encoding.
    pub fn of(request: &HttpRequest) -> Result<Self, ApiError> {
        let pairs = serde_urlencoded_pairs(request.query_string())?;
        Ok(Self { pairs, errors: FieldErrors::default() })
    }

    fn values(&self, name: &str) -> impl Iterator<Item = &str> {
        self.pairs.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The last value of `name`, if given.
    pub fn single(&self, name: &str) -> Option<&str> {
        self.values(name).last()
    }

    /// Free text, if given; one holding U+0000 (which PostgreSQL cannot store) is recorded.
    /// Every other parameter parses into a typed value, which cannot hold it.
    pub fn text(&mut self, name: &str) -> Option<String> {
        let text = self.single(name)?.to_owned();
        if text.contains('\0') {
            self.errors.push(name, Violation::InvalidValue, "must not contain the character U+0000");
            return None;
        }
        Some(text)
    }

    /// Every value of `name` (repeated and comma-separated), parsed; bad ones are recorded.
    pub fn list<T: FromStr>(&mut self, name: &str, allowed: &str) -> Vec<T> {
        self.list_with(name, |text| text.parse().ok(), &format!("is not one of: {allowed}"))
    }

    /// Every value of `name` (repeated and comma-separated), parsed by `parse`.
    pub fn list_with<T>(&mut self, name: &str, parse: impl Fn(&str) -> Option<T>, message: &str) -> Vec<T> {
        let texts: Vec<String> = self
            .values(name)
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        let mut parsed = Vec::new();
        for text in texts {
            match parse(&text) {
                Some(value) => parsed.push(value),
                None => self.errors.push(name, Violation::InvalidValue, format!("`{text}` {message}")),
            }
        }
        parsed
    }

    /// One value of `name` parsed by `parse`, if given; a bad one is recorded.
    pub fn parsed_with<T>(&mut self, name: &str, parse: impl Fn(&str) -> Option<T>, message: &str) -> Option<T> {
        let text = self.single(name)?.to_owned();
        let parsed = parse(&text);
        if parsed.is_none() {
            self.errors.push(name, Violation::InvalidValue, message);
        }
        parsed
    }

    /// One value of `name` parsed, if given; a bad one is recorded.
    pub fn parsed<T: FromStr>(&mut self, name: &str, message: &str) -> Option<T> {
        let text = self.single(name)?.to_owned();
        match text.parse() {
            Ok(value) => Some(value),
            Err(_) => {
                self.errors.push(name, Violation::InvalidValue, message);
                None
            }
        }
    }

    /// An RFC 3339 date-time, if given.
    pub fn timestamp(&mut self, name: &str) -> Option<Timestamp> {
        let text = self.single(name)?.to_owned();
        match time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339) {
            Ok(at) => Some(at),
            Err(_) => {
                self.errors.push(name, Violation::InvalidValue, "must be an RFC 3339 date-time");
                None
            }
        }
    }

    /// `limit` (default `default`, clamped to 100) and `offset` (default 0).
    pub fn page(&mut self, default: u32) -> PageRequest {
        let limit = match self.single("limit") {
            None => default,
            Some(text) => match text.parse::<i64>() {
                Ok(limit) if limit >= 1 => u32::try_from(limit).unwrap_or(u32::MAX),
                _ => {
                    self.errors.push("limit", Violation::InvalidValue, "must be an integer of at least 1");
                    default
                }
            },
        };
        let offset = match self.single("offset") {
            None => 0,
            // PostgreSQL skips at most i64::MAX rows: a larger offset is out of range.
            Some(text) => match text.parse::<i64>().ok().and_then(|offset| u64::try_from(offset).ok()) {
                Some(offset) => offset,
                None => {
                    self.errors.push("offset", Violation::InvalidValue, "must be an integer from 0 to 2^63 - 1");
                    0
                }
            },
        };
        PageRequest::new(limit, offset)
    }

    /// Records a violation of `name`.
    pub fn reject(&mut self, name: &str, violation: Violation, message: &str) {
        self.errors.push(name, violation, message);
    }

    /// `Ok(())` when every parameter read was valid.
    ///
    /// # Errors
    /// 422 `validation_failed` naming each bad parameter.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() { Ok(()) } else { Err(ApiError::validation(self.errors)) }
    }
}

/// The page of a plain listing: `limit` (default 25) and `offset`, nothing else.
///
/// # Errors
/// 422 naming a bad `limit` or `offset`; 400 for a malformed query string.
pub fn page_of(request: &HttpRequest) -> Result<PageRequest, ApiError> {
    let mut query = Query::of(request)?;
    let page = query.page(25);
    query.finish()?;
    Ok(page)
}

fn serde_urlencoded_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
        .map(actix_web::web::Query::into_inner)
        .map_err(|_| ApiError::invalid_request("The query string is malformed."))
}
