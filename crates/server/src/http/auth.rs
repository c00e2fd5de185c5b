//! Authentication: the [`Auth`] extractor reads `X-API-Key` (or `Authorization: Bearer`), asks
//! the key store, and hands the handler a principal whose scopes it checks with
//! [`Auth::require`]. Every refusal of a key is the same 401.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use casework_domain::case::Actor;
use casework_domain::directory::{Principal, Scope};
use casework_domain::ports::ApiKeyStore;

use super::error::ApiError;
use crate::state::AppState;

/// An authenticated request.
pub struct Auth(pub Principal);

fn presented_key(request: &HttpRequest) -> Option<String> {
    if let Some(key) = request.headers().get("x-api-key") {
        return key.to_str().ok().map(str::to_owned);
    }
    let authorization = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = authorization.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let key = presented_key(request);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
            let key = key.ok_or_else(ApiError::unauthorized)?;
            let principal = state.store.authenticate(&key, state.service.now()).await?;
            Ok(Self(principal))
        })
    }
}

impl Auth {
    /// The principal, when it holds `scope`.
    ///
    /// # Errors
    /// 403 `insufficient_scope` naming the scope.
    pub fn require(&self, scope: Scope) -> Result<&Principal, ApiError> {
        if self.0.scopes.allows(scope) { Ok(&self.0) } else { Err(ApiError::insufficient_scope(scope)) }
    }

    /// The actor of a request without an explicit reviewer: the bound user, else the key.
    pub fn actor(&self) -> Actor {
        Actor::of_request(&self.0, self.0.user.as_ref().map(|user| (user.id, user.name.clone())))
    }
}
