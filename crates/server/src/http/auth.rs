//! The [`Api`] extractor: an authenticated API request as handlers see it — the application
//! state, the principal the conventions middleware authenticated from `X-API-Key` (or
//! `Authorization: Bearer`, scopes already checked against the route table), and the helpers
//! every handler shares (the JSON body, the query, `If-Match`, the action request).

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use casework_api::request::Input;
use casework_domain::case::Actor;
use casework_domain::directory::{Principal, Scope};
use casework_domain::id::{IdError, OrgUserId};
use casework_domain::page::PageRequest;
use casework_domain::ports::Pii;
use casework_domain::service::actions::ActionRequest;
use casework_domain::tenant::Tenant;

use super::action::action_request;
use super::body::json_object;
use super::conventions::IfMatch;
use super::error::ApiError;
use super::query::{Query, page_of};
use crate::state::AppState;

/// An authenticated API request.
pub struct Api {
    /// The application state.
    pub state: web::Data<AppState>,
    principal: Principal,
    request: HttpRequest,
}

/// The secret a request presents: `X-API-Key`, or `Authorization: Bearer`.
pub fn presented_key(request: &HttpRequest) -> Option<String> {
    if let Some(key) = request.headers().get("x-api-key") {
        return key.to_str().ok().map(str::to_owned);
    }
    let authorization = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = authorization.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

impl FromRequest for Api {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    /// The principal the conventions middleware authenticated, with the state.
    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let principal = request.extensions().get::<Principal>().cloned();
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let api = match (principal, state) {
            (Some(principal), Some(state)) => Ok(Self { state, principal, request: request.clone() }),
            (None, _) => Err(ApiError::unauthorized()),
            (_, None) => Err(ApiError::internal(anyhow::anyhow!("application state missing"))),
        };
        std::future::ready(api)
    }
}

impl Api {
    /// The authenticated key.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The key's (org, environment).
    pub fn tenant(&self) -> Tenant {
        self.principal.tenant
    }

    /// Whether reads for this request decrypt PII: only with `verifications:read`.
    pub fn pii(&self) -> Pii {
        if self.principal.scopes.allows(Scope::VerificationsRead) { Pii::Include } else { Pii::Omit }
    }

    /// The actor of a request without an explicit reviewer: the bound user, else the key.
    pub fn actor(&self) -> Actor {
        Actor::of_request(&self.principal, self.principal.user.as_ref().map(|user| (user.id, user.name.clone())))
    }

    /// The request.
    pub fn request(&self) -> &HttpRequest {
        &self.request
    }

    /// The JSON body, as an object.
    ///
    /// # Errors
    /// 413, 415 or 400 (see [`json_object`]).
    pub async fn json(&self, payload: web::Payload) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
        json_object(&self.request, payload, self.state.config.limits.max_body_bytes).await
    }

    /// The JSON body as request type `T`, turned into the domain's values.
    ///
    /// # Errors
    /// 413, 415 or 400 (see [`json_object`]); 422 for unknown fields, a wrong JSON type and
    /// every value that breaks a rule.
    pub async fn input<T: Input>(&self, payload: web::Payload) -> Result<T::Domain, ApiError> {
        Ok(casework_api::request::read::<T>(self.json(payload).await?)?)
    }

    /// The query string.
    ///
    /// # Errors
    /// 400 for a malformed query string.
    pub fn query(&self) -> Result<Query, ApiError> {
        Query::of(&self.request)
    }

    /// The page of a plain listing.
    ///
    /// # Errors
    /// 422 naming a bad `limit` or `offset`.
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        page_of(&self.request)
    }

    /// The request of a case action: `If-Match`, and the reviewer (required when
    /// `needs_reviewer` and neither the body nor the key names one).
    ///
    /// # Errors
    /// 422 `reviewer_id: required`.
    pub fn action(
        &self,
        reviewer_id: Option<Result<OrgUserId, IdError>>,
        needs_reviewer: bool,
    ) -> Result<ActionRequest<'_>, ApiError> {
        let expected = self.request.extensions().get::<IfMatch>().and_then(|m| m.0);
        action_request(&self.principal, reviewer_id, expected, needs_reviewer)
    }
}
