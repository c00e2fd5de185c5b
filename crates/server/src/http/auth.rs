//! The [`Auth`] extractor: the principal the conventions middleware authenticated from
//! `X-API-Key` (or `Authorization: Bearer`), scopes already checked against the route table.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use casework_domain::case::Actor;
use casework_domain::directory::Principal;

use super::error::ApiError;

/// An authenticated request.
pub struct Auth(pub Principal);

/// The secret a request presents: `X-API-Key`, or `Authorization: Bearer`.
pub fn presented_key(request: &HttpRequest) -> Option<String> {
    if let Some(key) = request.headers().get("x-api-key") {
        return key.to_str().ok().map(str::to_owned);
    }
    let authorization = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = authorization.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    /// The principal the conventions middleware authenticated.
    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let principal = request.extensions().get::<Principal>().cloned();
        std::future::ready(principal.map(Self).ok_or_else(ApiError::unauthorized))
    }
}

impl Auth {
    /// The authenticated key (its scopes were checked by the route table).
    pub fn principal(&self) -> &Principal {
        &self.0
    }

    /// The actor of a request without an explicit reviewer: the bound user, else the key.
    pub fn actor(&self) -> Actor {
        Actor::of_request(&self.0, self.0.user.as_ref().map(|user| (user.id, user.name.clone())))
    }
}
