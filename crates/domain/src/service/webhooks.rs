//! Webhook endpoints (WEBHOOKS.md, Endpoints): create, read, change, delete, rotate the secret,
//! send a test, read the delivery log, retry a failed delivery, and recover a time window.

use super::CaseService;
use crate::Timestamp;
use crate::id::{DeliveryId, EndpointId};
use crate::page::{Page, PageRequest};
use crate::ports::{
    CaseRepository, Clock, DirectoryRepository, IdGenerator, RetryError, SessionRepository, StoreError,
    WebhookRepository,
};
use crate::tenant::{Environment, Tenant};
use crate::webhook::{
    API_VERSION, Delivery, Endpoint, EndpointDraft, EndpointPatch, RECOVER_LIMIT, RECOVER_WINDOW, ROTATION_OVERLAP,
    TargetPolicy, check_url,
};

/// Why an endpoint change was refused.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// 422 `invalid_value` on `url`.
    #[error("{0}")]
    InvalidUrl(&'static str),
    /// 404.
    #[error("not found")]
    NotFound,
    /// See [`StoreError`].
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why `recover` was refused.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// 422 on `since`: further back than 7 days, or after `until`.
    #[error("{0}")]
    InvalidWindow(&'static str),
    /// 404.
    #[error("not found")]
    NotFound,
    /// See [`StoreError`].
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<R, C, G> CaseService<R, C, G>
where
    R: CaseRepository + SessionRepository + DirectoryRepository + WebhookRepository,
    C: Clock,
    G: IdGenerator,
{
    /// Registers an endpoint; returns it with its secret (shown once).
    ///
    /// # Errors
    /// [`EndpointError`].
    pub async fn create_endpoint(
        &self,
        tenant: Tenant,
        draft: EndpointDraft,
        policy: TargetPolicy,
    ) -> Result<(Endpoint, String), EndpointError> {
        check_url(&draft.url, tenant.environment == Environment::Live, policy).map_err(EndpointError::InvalidUrl)?;
        let now = self.clock.now();
        let endpoint = Endpoint {
            id: self.ids.generate(),
            tenant,
            url: draft.url,
            enabled: true,
            enabled_events: draft.enabled_events,
            label: draft.label,
            description: draft.description,
            key_inflection: draft.key_inflection,
            api_version: API_VERSION.to_owned(),
            disabled_reason: None,
            created_at: now,
            updated_at: now,
        };
        let secret = self.repo.insert_endpoint(&endpoint).await?;
        Ok((endpoint, secret))
    }

    /// The tenant's endpoints.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn endpoints(&self, tenant: Tenant, page: PageRequest) -> Result<Page<Endpoint>, StoreError> {
        self.repo.list_endpoints(tenant, page).await
    }

    /// One endpoint.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn endpoint(&self, tenant: Tenant, id: EndpointId) -> Result<Option<Endpoint>, StoreError> {
        self.repo.find_endpoint(tenant, id).await
    }

    /// Changes an endpoint.
    ///
    /// # Errors
    /// [`EndpointError`].
    pub async fn update_endpoint(
        &self,
        tenant: Tenant,
        id: EndpointId,
        patch: &EndpointPatch,
        policy: TargetPolicy,
    ) -> Result<Endpoint, EndpointError> {
        if let Some(url) = &patch.url {
            check_url(url, tenant.environment == Environment::Live, policy).map_err(EndpointError::InvalidUrl)?;
        }
        let now = self.clock.now();
        self.repo.update_endpoint(tenant, id, patch, now).await?.ok_or(EndpointError::NotFound)
    }

    /// Deletes an endpoint and its deliveries.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn delete_endpoint(&self, tenant: Tenant, id: EndpointId) -> Result<Option<Endpoint>, StoreError> {
        self.repo.delete_endpoint(tenant, id).await
    }

    /// A new secret; the old one signs too for 24 hours.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn rotate_endpoint_secret(
        &self,
        tenant: Tenant,
        id: EndpointId,
    ) -> Result<Option<(Endpoint, String)>, StoreError> {
        let now = self.clock.now();
        self.repo.rotate_secret(tenant, id, now, now + ROTATION_OVERLAP).await
    }

    /// Queues a `webhook.test` event to one endpoint, due now.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn test_endpoint(&self, tenant: Tenant, id: EndpointId) -> Result<Option<Delivery>, StoreError> {
        let now = self.clock.now();
        self.repo.queue_test(tenant, id, self.ids.generate(), self.ids.generate(), now).await
    }

    /// The delivery log of an endpoint, newest first.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn deliveries(
        &self,
        tenant: Tenant,
        endpoint_id: EndpointId,
        page: PageRequest,
    ) -> Result<Option<Page<Delivery>>, StoreError> {
        self.repo.list_deliveries(tenant, endpoint_id, page).await
    }

    /// Queues a failed delivery again (same id, same body), due now.
    ///
    /// # Errors
    /// [`RetryError`].
    pub async fn retry_delivery(&self, tenant: Tenant, id: DeliveryId) -> Result<Option<Delivery>, RetryError> {
        self.repo.retry_delivery(tenant, id, self.clock.now()).await
    }

    /// Queues again every subscribed event of `[since, until)` (`until` defaults to now; at most
    /// 7 days back, at most 10 000 events); returns how many.
    ///
    /// # Errors
    /// [`RecoverError`].
    pub async fn recover(
        &self,
        tenant: Tenant,
        endpoint_id: EndpointId,
        since: Timestamp,
        until: Option<Timestamp>,
    ) -> Result<u32, RecoverError> {
        let now = self.clock.now();
        let until = until.unwrap_or(now).min(now);
        if since < now - RECOVER_WINDOW {
            return Err(RecoverError::InvalidWindow("since is more than 7 days ago"));
        }
        if since >= until {
            return Err(RecoverError::InvalidWindow("since must be before until"));
        }
        self.repo.recover(tenant, endpoint_id, (since, until), RECOVER_LIMIT, now).await?.ok_or(RecoverError::NotFound)
    }
}
