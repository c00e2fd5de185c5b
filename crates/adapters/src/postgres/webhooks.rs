//! [`WebhookRepository`] on PostgreSQL: endpoints (their secrets sealed with the PII cipher,
//! bound to their row), the delivery log, retries and `recover`. Deliveries of committed events
//! are made by the `webhook_fan_out` trigger in the event's own transaction; sending them is
//! [`super::deliveries`].

use casework_api::webhook::{Envelope, TestData, TestEvent};
use casework_domain::Timestamp;
use casework_domain::id::{DeliveryId, EndpointId, EventId, Id};
use casework_domain::page::{Page, PageRequest};
use casework_domain::ports::{RetryError, StoreError, WebhookRepository};
use casework_domain::tenant::{Environment, Tenant};
use casework_domain::webhook::{Delivery, DeliveryState, Endpoint, EndpointPatch, KeyInflection};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgStore;
use super::errors::{corrupt, unavailable_or_unknown};
use super::records::{OutboxRecord, decode};
use super::schema::{webhook_deliveries, webhook_endpoints, webhook_outbox};
use crate::crypto::PiiCipher;
use crate::webhooks::signature::Secret;

/// The columns of an endpoint that the API shows (never its secrets).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints, check_for_backend(diesel::pg::Pg))]
pub(super) struct EndpointRecord {
    org_id: Uuid,
    id: Uuid,
    environment: String,
    url: String,
    enabled: bool,
    enabled_events: Vec<Option<String>>,
    label: Option<String>,
    description: Option<String>,
    key_inflection: String,
    api_version: String,
    disabled_reason: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl EndpointRecord {
    pub(super) fn into_endpoint(self) -> Result<Endpoint, StoreError> {
        Ok(Endpoint {
            id: Id::from_uuid(self.id),
            tenant: Tenant {
                org_id: Id::from_uuid(self.org_id),
                environment: decode::<Environment>("environment", &self.environment)?,
            },
            url: self.url,
            enabled: self.enabled,
            enabled_events: self.enabled_events.into_iter().flatten().collect(),
            label: self.label,
            description: self.description,
            key_inflection: decode::<KeyInflection>("key inflection", &self.key_inflection)?,
            api_version: self.api_version,
            disabled_reason: self.disabled_reason,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The associated data binding a sealed secret to its endpoint.
fn secret_identity(org_id: Uuid, endpoint_id: Uuid) -> Vec<u8> {
    [b"webhook-secret:".as_slice(), org_id.as_bytes(), endpoint_id.as_bytes()].concat()
}

/// Seals a secret for its endpoint row: `(key id, ciphertext)`.
fn seal_secret(cipher: &PiiCipher, org_id: Uuid, endpoint_id: Uuid, secret: &Secret) -> (String, Vec<u8>) {
    cipher.encrypt(secret.as_str().as_bytes(), &secret_identity(org_id, endpoint_id))
}

/// Opens a sealed secret.
pub(super) fn open_secret(
    cipher: &PiiCipher,
    org_id: Uuid,
    endpoint_id: Uuid,
    key_id: &str,
    sealed: &[u8],
) -> Result<Secret, StoreError> {
    let plain = cipher
        .decrypt(key_id, sealed, &secret_identity(org_id, endpoint_id))
        .map_err(|e| StoreError::Unknown(anyhow::Error::new(e)))?;
    let text = String::from_utf8(plain).map_err(|e| corrupt("webhook secret", e))?;
    Ok(Secret::from_string(text))
}

/// A `webhook_deliveries` row as the log shows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub(super) struct DeliveryRecord {
    id: Uuid,
    endpoint_id: Uuid,
    event_id: Uuid,
    event: String,
    state: String,
    attempts: i32,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    next_attempt_at: Option<Timestamp>,
    created_at: Timestamp,
    delivered_at: Option<Timestamp>,
}

impl DeliveryRecord {
    fn into_delivery(self) -> Result<Delivery, StoreError> {
        Ok(Delivery {
            id: Id::from_uuid(self.id),
            endpoint_id: Id::from_uuid(self.endpoint_id),
            event: self.event,
            event_id: Id::from_uuid(self.event_id),
            state: decode::<DeliveryState>("delivery state", &self.state)?,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            last_status_code: self.last_status_code.and_then(|code| u16::try_from(code).ok()),
            last_error: self.last_error,
            next_attempt_at: self.next_attempt_at,
            created_at: self.created_at,
            delivered_at: self.delivered_at,
        })
    }
}

fn in_tenant(
    tenant: Tenant,
) -> diesel::dsl::And<
    diesel::dsl::Eq<webhook_endpoints::org_id, Uuid>,
    diesel::dsl::Eq<webhook_endpoints::environment, &'static str>,
> {
    webhook_endpoints::org_id
        .eq(tenant.org_id.uuid())
        .and(webhook_endpoints::environment.eq(tenant.environment.as_str()))
}

impl PgStore {
    async fn endpoint_row(&self, tenant: Tenant, id: EndpointId) -> Result<Option<EndpointRecord>, StoreError> {
        let mut connection = self.connection().await?;
        webhook_endpoints::table
            .filter(in_tenant(tenant))
            .filter(webhook_endpoints::id.eq(id.uuid()))
            .select(EndpointRecord::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)
    }
}

impl WebhookRepository for PgStore {
    async fn insert_endpoint(&self, endpoint: &Endpoint) -> Result<String, StoreError> {
        let secret = Secret::generate();
        let org_id = endpoint.tenant.org_id.uuid();
        let (key_id, sealed) = seal_secret(&self.cipher, org_id, endpoint.id.uuid(), &secret);
        let mut connection = self.connection().await?;
        diesel::insert_into(webhook_endpoints::table)
            .values((
                webhook_endpoints::org_id.eq(org_id),
                webhook_endpoints::id.eq(endpoint.id.uuid()),
                webhook_endpoints::environment.eq(endpoint.tenant.environment.as_str()),
                webhook_endpoints::url.eq(&endpoint.url),
                webhook_endpoints::enabled.eq(endpoint.enabled),
                webhook_endpoints::enabled_events.eq(&endpoint.enabled_events),
                webhook_endpoints::label.eq(&endpoint.label),
                webhook_endpoints::description.eq(&endpoint.description),
                webhook_endpoints::key_inflection.eq(endpoint.key_inflection.as_str()),
                webhook_endpoints::api_version.eq(&endpoint.api_version),
                webhook_endpoints::secret_ciphertext.eq(sealed),
                webhook_endpoints::secret_key_id.eq(key_id),
                webhook_endpoints::created_at.eq(endpoint.created_at),
                webhook_endpoints::updated_at.eq(endpoint.updated_at),
            ))
            .execute(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        Ok(secret.as_str().to_owned())
    }

    async fn list_endpoints(&self, tenant: Tenant, page: PageRequest) -> Result<Page<Endpoint>, StoreError> {
        let mut connection = self.connection().await?;
        let total: i64 = webhook_endpoints::table
            .filter(in_tenant(tenant))
            .count()
            .get_result(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        let records: Vec<EndpointRecord> = webhook_endpoints::table
            .filter(in_tenant(tenant))
            .order_by((webhook_endpoints::created_at.asc(), webhook_endpoints::id.asc()))
            .select(EndpointRecord::as_select())
            .limit(i64::from(page.limit()))
            .offset(i64::try_from(page.offset()).unwrap_or(i64::MAX))
            .load(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        let items = records.into_iter().map(EndpointRecord::into_endpoint).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, total: u64::try_from(total).unwrap_or(0), request: page })
    }

    async fn find_endpoint(&self, tenant: Tenant, id: EndpointId) -> Result<Option<Endpoint>, StoreError> {
        self.endpoint_row(tenant, id).await?.map(EndpointRecord::into_endpoint).transpose()
    }

    async fn update_endpoint(
        &self,
        tenant: Tenant,
        id: EndpointId,
        patch: &EndpointPatch,
        now: Timestamp,
    ) -> Result<Option<Endpoint>, StoreError> {
        #[derive(AsChangeset)]
        #[diesel(table_name = webhook_endpoints)]
        struct Changes<'a> {
            url: Option<&'a str>,
            enabled_events: Option<&'a [String]>,
            enabled: Option<bool>,
            label: Option<Option<&'a str>>,
            description: Option<Option<&'a str>>,
            key_inflection: Option<&'static str>,
            disabled_reason: Option<Option<&'static str>>,
            consecutive_failures: Option<i32>,
            updated_at: Timestamp,
        }
        let enabling = patch.enabled == Some(true);
        let changes = Changes {
            url: patch.url.as_deref(),
            enabled_events: patch.enabled_events.as_deref(),
            enabled: patch.enabled,
            label: patch.label.as_ref().map(Option::as_deref),
            description: patch.description.as_ref().map(Option::as_deref),
            key_inflection: patch.key_inflection.map(KeyInflection::as_str),
            // Enabling starts the breaker afresh; disabling by hand records no service reason.
            disabled_reason: patch.enabled.map(|_| None),
            consecutive_failures: enabling.then_some(0),
            updated_at: now,
        };
        let mut connection = self.connection().await?;
        let record: Option<EndpointRecord> = diesel::update(webhook_endpoints::table)
            .filter(in_tenant(tenant))
            .filter(webhook_endpoints::id.eq(id.uuid()))
            .set(changes)
            .returning(EndpointRecord::as_returning())
            .get_result(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)?;
        if enabling && record.is_some() {
            super::deliveries::wake(&mut connection).await.map_err(unavailable_or_unknown)?;
        }
        record.map(EndpointRecord::into_endpoint).transpose()
    }

    async fn delete_endpoint(&self, tenant: Tenant, id: EndpointId) -> Result<Option<Endpoint>, StoreError> {
        let mut connection = self.connection().await?;
        let record: Option<EndpointRecord> = diesel::delete(webhook_endpoints::table)
            .filter(in_tenant(tenant))
            .filter(webhook_endpoints::id.eq(id.uuid()))
            .returning(EndpointRecord::as_returning())
            .get_result(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)?;
        record.map(EndpointRecord::into_endpoint).transpose()
    }

    async fn rotate_secret(
        &self,
        tenant: Tenant,
        id: EndpointId,
        now: Timestamp,
        overlap_until: Timestamp,
    ) -> Result<Option<(Endpoint, String)>, StoreError> {
        let secret = Secret::generate();
        let (key_id, sealed) = seal_secret(&self.cipher, tenant.org_id.uuid(), id.uuid(), &secret);
        let mut connection = self.connection().await?;
        // The current secret becomes the previous one in the same statement, so two rotations
        // racing each other still leave a secret that signed recently as the previous one.
        let record: Option<EndpointRecord> = diesel::update(webhook_endpoints::table)
            .filter(in_tenant(tenant))
            .filter(webhook_endpoints::id.eq(id.uuid()))
            .set((
                webhook_endpoints::previous_secret_ciphertext.eq(webhook_endpoints::secret_ciphertext.nullable()),
                webhook_endpoints::previous_secret_key_id.eq(webhook_endpoints::secret_key_id.nullable()),
                webhook_endpoints::previous_secret_until.eq(overlap_until),
                webhook_endpoints::secret_ciphertext.eq(sealed),
                webhook_endpoints::secret_key_id.eq(key_id),
                webhook_endpoints::updated_at.eq(now),
            ))
            .returning(EndpointRecord::as_returning())
            .get_result(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)?;
        let Some(record) = record else { return Ok(None) };
        Ok(Some((record.into_endpoint()?, secret.as_str().to_owned())))
    }

    async fn queue_test(
        &self,
        tenant: Tenant,
        endpoint_id: EndpointId,
        event_id: EventId,
        delivery_id: DeliveryId,
        now: Timestamp,
    ) -> Result<Option<Delivery>, StoreError> {
        if self.endpoint_row(tenant, endpoint_id).await?.is_none() {
            return Ok(None);
        }
        let name = "webhook.test";
        let payload = serde_json::to_value(TestEvent {
            envelope: Envelope::new(event_id, name.to_owned(), now.into(), tenant.environment == Environment::Sandbox),
            data: TestData { endpoint_id: endpoint_id.uuid() },
        })
        .map_err(|e| StoreError::Unknown(e.into()))?;
        let outbox = OutboxRecord {
            org_id: tenant.org_id.uuid(),
            id: event_id.uuid(),
            environment: tenant.environment.as_str().to_owned(),
            event: name.to_owned(),
            case_id: None,
            payload,
            created_at: now,
        };
        let mut connection = self.connection().await?;
        let record: DeliveryRecord = connection
            .transaction::<_, diesel::result::Error, _>(async |connection| {
                diesel::insert_into(webhook_outbox::table).values(&outbox).execute(connection).await?;
                let record = diesel::insert_into(webhook_deliveries::table)
                    .values((
                        webhook_deliveries::org_id.eq(tenant.org_id.uuid()),
                        webhook_deliveries::id.eq(delivery_id.uuid()),
                        webhook_deliveries::endpoint_id.eq(endpoint_id.uuid()),
                        webhook_deliveries::event_id.eq(event_id.uuid()),
                        webhook_deliveries::event.eq(name),
                        webhook_deliveries::next_attempt_at.eq(now),
                        webhook_deliveries::event_created_at.eq(now),
                        webhook_deliveries::created_at.eq(now),
                    ))
                    .returning(DeliveryRecord::as_returning())
                    .get_result(connection)
                    .await?;
                super::deliveries::wake(connection).await?;
                Ok(record)
            })
            .await
            .map_err(unavailable_or_unknown)?;
        record.into_delivery().map(Some)
    }

    async fn list_deliveries(
        &self,
        tenant: Tenant,
        endpoint_id: EndpointId,
        page: PageRequest,
    ) -> Result<Option<Page<Delivery>>, StoreError> {
        if self.endpoint_row(tenant, endpoint_id).await?.is_none() {
            return Ok(None);
        }
        let mut connection = self.connection().await?;
        let of_endpoint = webhook_deliveries::org_id
            .eq(tenant.org_id.uuid())
            .and(webhook_deliveries::endpoint_id.eq(endpoint_id.uuid()));
        let total: i64 = webhook_deliveries::table
            .filter(of_endpoint)
            .count()
            .get_result(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        let records: Vec<DeliveryRecord> = webhook_deliveries::table
            .filter(of_endpoint)
            .order_by((webhook_deliveries::created_at.desc(), webhook_deliveries::id.desc()))
            .select(DeliveryRecord::as_select())
            .limit(i64::from(page.limit()))
            .offset(i64::try_from(page.offset()).unwrap_or(i64::MAX))
            .load(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        let items = records.into_iter().map(DeliveryRecord::into_delivery).collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Page { items, total: u64::try_from(total).unwrap_or(0), request: page }))
    }

    async fn retry_delivery(
        &self,
        tenant: Tenant,
        id: DeliveryId,
        now: Timestamp,
    ) -> Result<Option<Delivery>, RetryError> {
        let mut connection = self.connection().await.map_err(|e| RetryError::Store(e.into()))?;
        let in_environment = webhook_endpoints::table.filter(in_tenant(tenant)).select(webhook_endpoints::id);
        let of_tenant = webhook_deliveries::org_id
            .eq(tenant.org_id.uuid())
            .and(webhook_deliveries::id.eq(id.uuid()))
            .and(webhook_deliveries::endpoint_id.eq_any(in_environment));
        let retried: Option<DeliveryRecord> = diesel::update(webhook_deliveries::table)
            .filter(of_tenant)
            .filter(webhook_deliveries::state.eq(DeliveryState::Failed.as_str()))
            .set((
                webhook_deliveries::state.eq(DeliveryState::Pending.as_str()),
                webhook_deliveries::attempts.eq(0),
                webhook_deliveries::next_attempt_at.eq(now),
            ))
            .returning(DeliveryRecord::as_returning())
            .get_result(&mut *connection)
            .await
            .optional()
            .map_err(|e| RetryError::Store(unavailable_or_unknown(e)))?;
        if let Some(record) = retried {
            super::deliveries::wake(&mut connection).await.map_err(|e| RetryError::Store(unavailable_or_unknown(e)))?;
            return record.into_delivery().map(Some).map_err(RetryError::Store);
        }
        let exists: i64 = webhook_deliveries::table
            .filter(of_tenant)
            .count()
            .get_result(&mut *connection)
            .await
            .map_err(|e| RetryError::Store(unavailable_or_unknown(e)))?;
        if exists > 0 { Err(RetryError::NotFailed) } else { Ok(None) }
    }

    async fn recover(
        &self,
        tenant: Tenant,
        endpoint_id: EndpointId,
        window: (Timestamp, Timestamp),
        limit: u32,
        now: Timestamp,
    ) -> Result<Option<u32>, StoreError> {
        use diesel::sql_types::{BigInt, Timestamptz, Uuid as SqlUuid};
        let Some(endpoint) = self.endpoint_row(tenant, endpoint_id).await? else { return Ok(None) };
        let mut connection = self.connection().await?;
        let queued = diesel::sql_query(
            "INSERT INTO webhook_deliveries (org_id, id, endpoint_id, event_id, event, next_attempt_at, \
                 event_created_at, created_at) \
             SELECT o.org_id, gen_random_uuid(), e.id, o.id, o.event, $5, o.created_at, $5 \
             FROM webhook_endpoints e \
             JOIN LATERAL ( \
                 SELECT * FROM webhook_outbox o \
                 WHERE o.org_id = e.org_id AND o.environment = e.environment \
                   AND o.created_at >= $3 AND o.created_at < $4 AND o.event <> 'webhook.test' \
                   AND (cardinality(e.enabled_events) = 0 OR o.event = ANY (e.enabled_events)) \
                 ORDER BY o.created_at, o.seq LIMIT $6 \
             ) o ON true \
             WHERE e.org_id = $1 AND e.id = $2",
        )
        .bind::<SqlUuid, _>(tenant.org_id.uuid())
        .bind::<SqlUuid, _>(endpoint.id)
        .bind::<Timestamptz, _>(window.0)
        .bind::<Timestamptz, _>(window.1)
        .bind::<Timestamptz, _>(now)
        .bind::<BigInt, _>(i64::from(limit))
        .execute(&mut *connection)
        .await
        .map_err(unavailable_or_unknown)?;
        if queued > 0 {
            super::deliveries::wake(&mut connection).await.map_err(unavailable_or_unknown)?;
        }
        Ok(Some(u32::try_from(queued).unwrap_or(u32::MAX)))
    }
}
