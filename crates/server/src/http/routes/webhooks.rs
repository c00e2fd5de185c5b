//! `/api/v1/webhooks`: endpoint management and the delivery log (WEBHOOKS.md, Endpoints).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use casework_adapters::webhooks::guard::{check_literal, is_public};
use casework_api::request::webhook::{EndpointPatchRequest, NewEndpointRequest, RecoverRequest};
use casework_api::webhook::{Delivery as DeliveryBody, Endpoint as EndpointBody, EndpointWithSecret, Recovered};
use casework_domain::id::{DeliveryId, EndpointId};
use casework_domain::ports::RetryError;
use casework_domain::service::webhooks::{EndpointError, RecoverError};
use casework_domain::tenant::Environment;
use casework_domain::validation::Violation;

use crate::http::auth::Api;
use crate::http::error::ApiError;
use crate::http::respond;

impl From<EndpointError> for ApiError {
    fn from(error: EndpointError) -> Self {
        match error {
            EndpointError::InvalidUrl(why) => Self::invalid_field("url", Violation::InvalidValue, why),
            EndpointError::NotFound => Self::not_found("Webhook endpoint"),
            EndpointError::Store(store) => store.into(),
        }
    }
}

fn endpoint_id(path: &str) -> Result<EndpointId, ApiError> {
    EndpointId::parse(path).map_err(|_| ApiError::not_found("Webhook endpoint"))
}

fn location(id: EndpointId) -> String {
    format!("/api/v1/webhooks/endpoints/{}", id.public())
}

/// The SSRF guard at registration: a live endpoint whose host is an address, `localhost`, or a
/// name that resolves only to non-public addresses is refused (422 on `url`). Delivery checks
/// again at connect time; a name that does not resolve now is left to that check.
async fn refuse_private_target(api: &Api, url: &str) -> Result<(), ApiError> {
    if api.state.allows_private_targets(api.tenant().environment) {
        return Ok(());
    }
    let refused = || {
        ApiError::invalid_field(
            "url",
            Violation::InvalidValue,
            "the host is a loopback, private, link-local or metadata address; a live endpoint must be public",
        )
    };
    let Some(host) = reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)) else {
        return Err(ApiError::invalid_field("url", Violation::InvalidValue, "the URL does not parse"));
    };
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return Err(refused());
    }
    match check_literal(&host, false) {
        Some(Err(_)) => return Err(refused()),
        Some(Ok(())) => return Ok(()),
        None => {}
    }
    if let Ok(addresses) = api.state.lookup.lookup(&host).await
        && !addresses.is_empty()
        && !addresses.iter().any(|address| is_public(*address))
    {
        return Err(refused());
    }
    Ok(())
}

/// `POST /webhooks/endpoints`: 201 with the `secret`, shown this once.
///
/// # Errors
/// 422 for the fields (an unknown event at its index, a URL the environment refuses).
pub async fn create(api: Api, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let draft = api.input::<NewEndpointRequest>(payload).await?;
    if api.tenant().environment == Environment::Live {
        refuse_private_target(&api, &draft.url).await?;
    }
    let (endpoint, secret) = api.state.service.create_endpoint(api.tenant(), draft, api.state.target_policy()).await?;
    let body = EndpointWithSecret { endpoint: (&endpoint).into(), secret };
    Ok(respond::created(&body, location(endpoint.id)))
}

/// `GET /webhooks/endpoints`.
///
/// # Errors
/// 422 for paging.
pub async fn list(api: Api) -> Result<HttpResponse, ApiError> {
    let page = api.page()?;
    let endpoints = api.state.service.endpoints(api.tenant(), page).await?;
    Ok(respond::list::<EndpointBody, _>(&endpoints))
}

/// `GET /webhooks/endpoints/{id}`.
///
/// # Errors
/// 404.
pub async fn get(api: Api, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let endpoint = api
        .state
        .service
        .endpoint(api.tenant(), endpoint_id(&path)?)
        .await?
        .ok_or_else(|| ApiError::not_found("Webhook endpoint"))?;
    Ok(respond::json(StatusCode::OK, &EndpointBody::from(&endpoint)))
}

/// `PATCH /webhooks/endpoints/{id}`: `enabled: true` re-enables (what was kept goes out).
///
/// # Errors
/// 422 for the fields, 404.
pub async fn update(api: Api, path: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let patch = api.input::<EndpointPatchRequest>(payload).await?;
    let id = endpoint_id(&path)?;
    if let Some(url) = &patch.url
        && api.tenant().environment == Environment::Live
    {
        refuse_private_target(&api, url).await?;
    }
    let endpoint = api.state.service.update_endpoint(api.tenant(), id, &patch, api.state.target_policy()).await?;
    Ok(respond::json(StatusCode::OK, &EndpointBody::from(&endpoint)))
}

/// `DELETE /webhooks/endpoints/{id}`: the endpoint and its deliveries.
///
/// # Errors
/// 404.
pub async fn delete(api: Api, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let endpoint = api
        .state
        .service
        .delete_endpoint(api.tenant(), endpoint_id(&path)?)
        .await?
        .ok_or_else(|| ApiError::not_found("Webhook endpoint"))?;
    Ok(respond::json(StatusCode::OK, &EndpointBody::from(&endpoint)))
}

/// `POST /webhooks/endpoints/{id}/rotate-secret`: 200 with the new `secret`; the old one keeps
/// signing for 24 hours.
///
/// # Errors
/// 404.
pub async fn rotate_secret(api: Api, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (endpoint, secret) = api
        .state
        .service
        .rotate_endpoint_secret(api.tenant(), endpoint_id(&path)?)
        .await?
        .ok_or_else(|| ApiError::not_found("Webhook endpoint"))?;
    Ok(respond::json(StatusCode::OK, &EndpointWithSecret { endpoint: (&endpoint).into(), secret }))
}

/// `POST /webhooks/endpoints/{id}/test`: queues a `webhook.test` delivery, sent at once.
///
/// # Errors
/// 404.
pub async fn test(api: Api, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let delivery = api
        .state
        .service
        .test_endpoint(api.tenant(), endpoint_id(&path)?)
        .await?
        .ok_or_else(|| ApiError::not_found("Webhook endpoint"))?;
    Ok(respond::json(StatusCode::ACCEPTED, &DeliveryBody::from(&delivery)))
}

/// `GET /webhooks/endpoints/{id}/deliveries`: newest first.
///
/// # Errors
/// 404, 422 for paging.
pub async fn deliveries(api: Api, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = endpoint_id(&path)?;
    let page = api.page()?;
    let deliveries = api
        .state
        .service
        .deliveries(api.tenant(), id, page)
        .await?
        .ok_or_else(|| ApiError::not_found("Webhook endpoint"))?;
    Ok(respond::list::<DeliveryBody, _>(&deliveries))
}

/// `POST /webhooks/deliveries/{id}/retry`: a failed delivery, queued again.
///
/// # Errors
/// 404, 409 `invalid_transition` when it has not failed.
pub async fn retry(api: Api, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = DeliveryId::parse(&path).map_err(|_| ApiError::not_found("Delivery"))?;
    let delivery = match api.state.service.retry_delivery(api.tenant(), id).await {
        Ok(Some(delivery)) => delivery,
        Ok(None) => return Err(ApiError::not_found("Delivery")),
        Err(RetryError::NotFailed) => {
            return Err(ApiError::conflict(
                "invalid_transition",
                "Only a failed delivery can be retried; this one is pending or succeeded.",
            ));
        }
        Err(RetryError::Store(store)) => return Err(store.into()),
    };
    Ok(respond::json(StatusCode::ACCEPTED, &DeliveryBody::from(&delivery)))
}

/// `POST /webhooks/endpoints/{id}/recover`: 202 `{queued}`.
///
/// # Errors
/// 404, 422 for the window.
pub async fn recover(api: Api, path: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let (since, until) = api.input::<RecoverRequest>(payload).await?;
    let id = endpoint_id(&path)?;
    let queued = api.state.service.recover(api.tenant(), id, since, until).await.map_err(|error| match error {
        RecoverError::InvalidWindow(why) => ApiError::invalid_field("since", Violation::OutOfRange, why),
        RecoverError::NotFound => ApiError::not_found("Webhook endpoint"),
        RecoverError::Store(store) => store.into(),
    })?;
    Ok(respond::json(StatusCode::ACCEPTED, &Recovered { queued }))
}
