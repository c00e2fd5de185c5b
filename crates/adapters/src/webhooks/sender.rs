//! One delivery attempt over HTTP (WEBHOOKS.md, Delivery): a POST of the frozen body with both
//! signature schemes, a 30 s timeout, redirects not followed (a 3xx is a failure), no proxy,
//! and every connection through the [`super::guard`] so it reaches only a checked address.

use std::sync::Arc;
use std::time::Duration;

use casework_domain::webhook::AttemptOutcome;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::redirect::Policy;

use super::guard::{GuardedResolver, Lookup, TargetError, check_literal};
use super::signature::{Secret, sign};

/// An attempt's time limit: a 2xx must arrive within it.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// What to send.
#[derive(Debug)]
pub struct Attempt<'a> {
    /// The endpoint's URL.
    pub url: &'a str,
    /// `whd_…`: `X-Verifa-Delivery-Id` and `webhook-id`.
    pub delivery_id: &'a str,
    /// `X-Verifa-Event`.
    pub event: &'a str,
    /// The frozen body.
    pub body: &'a [u8],
    /// The signing secrets, the previous one first during a rotation.
    pub secrets: &'a [&'a Secret],
    /// The signed unix time.
    pub timestamp: i64,
    /// Loopback and private targets are allowed for this endpoint.
    pub allow_private: bool,
}

/// Sends attempts; one client per target policy, each with its own connection pool.
#[derive(Debug, Clone)]
pub struct Sender {
    strict: reqwest::Client,
    permissive: reqwest::Client,
}

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("the webhook HTTP client could not be built: {0}")]
pub struct SenderError(#[from] reqwest::Error);

fn client(lookup: Arc<dyn Lookup>, allow_private: bool) -> Result<reqwest::Client, SenderError> {
    let user_agent = format!("Casework-Webhooks/{}", env!("CARGO_PKG_VERSION"));
    Ok(reqwest::Client::builder()
        .user_agent(user_agent)
        .redirect(Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .no_proxy()
        .pool_idle_timeout(Duration::from_secs(60))
        .dns_resolver(Arc::new(GuardedResolver::new(lookup, allow_private)))
        .build()?)
}

impl Sender {
    /// Clients resolving through `lookup` (the system resolver in production).
    ///
    /// # Errors
    /// [`SenderError`].
    pub fn new(lookup: Arc<dyn Lookup>) -> Result<Self, SenderError> {
        Ok(Self { strict: client(Arc::clone(&lookup), false)?, permissive: client(lookup, true)? })
    }

    /// Makes one attempt.
    pub async fn send(&self, attempt: &Attempt<'_>) -> AttemptOutcome {
        let url = match reqwest::Url::parse(attempt.url) {
            Ok(url) => url,
            Err(error) => return failed(None, format!("the URL does not parse: {error}"), None),
        };
        if let Some(Err(error)) = url.host_str().and_then(|host| check_literal(host, attempt.allow_private)) {
            return failed(None, format!("refused: {error}"), None);
        }
        let signed = sign(attempt.secrets, attempt.delivery_id, attempt.timestamp, attempt.body);
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let mut put = |name: &'static str, value: &str| {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        };
        put("x-verifa-signature", &signed.verifa);
        put("x-verifa-delivery-id", attempt.delivery_id);
        put("x-verifa-event", attempt.event);
        put("webhook-id", attempt.delivery_id);
        put("webhook-timestamp", &attempt.timestamp.to_string());
        put("webhook-signature", &signed.standard);
        let client = if attempt.allow_private { &self.permissive } else { &self.strict };
        let response = client.post(url).headers(headers).body(attempt.body.to_vec()).send().await;
        match response {
            Ok(response) => {
                let status = response.status().as_u16();
                if response.status().is_success() {
                    return AttemptOutcome::Delivered { status };
                }
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|text| text.trim().parse::<i64>().ok())
                    .filter(|seconds| *seconds >= 0)
                    .map(time::Duration::seconds);
                let error = if response.status().is_redirection() {
                    format!("HTTP {status}: redirects are not followed")
                } else {
                    format!("HTTP {status}")
                };
                failed(Some(status), error, retry_after)
            }
            Err(error) => failed(None, describe(&error), None),
        }
    }
}

fn failed(status: Option<u16>, error: String, retry_after: Option<time::Duration>) -> AttemptOutcome {
    AttemptOutcome::Failed { status, error, retry_after }
}

/// The failure in words, naming a refused target as such.
fn describe(error: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(refused) = current.downcast_ref::<TargetError>() {
            return format!("refused: {refused}");
        }
        source = current.source();
    }
    if error.is_timeout() {
        return format!("no response within {} s", TIMEOUT.as_secs());
    }
    if error.is_connect() {
        return "the connection failed".to_owned();
    }
    "the request failed".to_owned()
}
