-- Webhook delivery (WEBHOOKS.md) and sandbox sessions (API.md §1).

-- A session's result: set by ingestion under review, a simulation, or its case's final decision.
ALTER TABLE sessions
    ADD COLUMN result_status text CHECK (result_status IN ('approved', 'declined', 'needs_review')),
    ADD COLUMN decided_at timestamptz,
    ADD COLUMN rejection_reason text CHECK (char_length(rejection_reason) BETWEEN 1 AND 2000),
    ADD COLUMN rejection_reason_code text;
UPDATE sessions SET result_status = 'needs_review' WHERE status = 'under_review';
UPDATE sessions s SET result_status = CASE s.status WHEN 'approved' THEN 'approved' ELSE 'declined' END,
    decided_at = c.decided_at, rejection_reason = c.rejection_reason, rejection_reason_code = c.rejection_reason_code
    FROM cases c
    WHERE c.org_id = s.org_id AND c.session_id = s.id AND s.status IN ('approved', 'declined');

-- Session events carry no case.
ALTER TABLE webhook_outbox DROP COLUMN dispatched_at;
CREATE INDEX webhook_outbox_window_idx ON webhook_outbox (org_id, environment, created_at);

CREATE TABLE webhook_endpoints (
    org_id uuid NOT NULL REFERENCES organizations (id),
    id uuid NOT NULL,
    environment text NOT NULL CHECK (environment IN ('live', 'sandbox')),
    url text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048),
    enabled boolean NOT NULL DEFAULT true,
    -- Empty: every event.
    enabled_events text[] NOT NULL DEFAULT '{}',
    label text CHECK (char_length(label) BETWEEN 1 AND 255),
    description text CHECK (char_length(description) BETWEEN 1 AND 2000),
    key_inflection text NOT NULL DEFAULT 'snake' CHECK (key_inflection IN ('snake', 'camel', 'kebab')),
    api_version text NOT NULL,
    disabled_reason text,
    -- The signing secret, AES-256-GCM under the PII keys (it must sign, so it is never hashed).
    secret_ciphertext bytea NOT NULL,
    secret_key_id text NOT NULL,
    -- The secret before the last rotation, signing too until previous_secret_until.
    previous_secret_ciphertext bytea,
    previous_secret_key_id text,
    previous_secret_until timestamptz,
    -- Deliveries failed in a row (after their last retry): the circuit breaker opens at 10.
    consecutive_failures integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (org_id, environment, created_at, id);

-- One event to one endpoint. The body is frozen at the first attempt, so every attempt sends
-- the same bytes.
CREATE TABLE webhook_deliveries (
    org_id uuid NOT NULL,
    id uuid NOT NULL,
    endpoint_id uuid NOT NULL,
    event_id uuid NOT NULL,
    event text NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    last_status_code integer,
    last_error text,
    next_attempt_at timestamptz,
    -- A worker sending an attempt holds the delivery until lease_until; lease_token names it.
    lease_until timestamptz,
    lease_token uuid,
    body bytea,
    -- When the event was committed (latency is measured from it).
    event_created_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    delivered_at timestamptz,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, endpoint_id) REFERENCES webhook_endpoints (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, event_id) REFERENCES webhook_outbox (org_id, id),
    CHECK ((state = 'pending') = (next_attempt_at IS NOT NULL))
);
-- The queue of each endpoint, oldest due first; and the leases held (few: cleared by each outcome).
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (org_id, endpoint_id, next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_leased_idx ON webhook_deliveries (org_id, endpoint_id)
    WHERE lease_until IS NOT NULL;
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (org_id, event_id);
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (org_id, endpoint_id, created_at DESC, id DESC);

-- Fan-out in the transaction that commits the event: one delivery per subscribed endpoint (a
-- disabled one too: its deliveries wait until it is enabled again), and a wake-up for the
-- delivery workers, sent by PostgreSQL at commit.
CREATE FUNCTION webhook_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.event = 'webhook.test' THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_deliveries (org_id, id, endpoint_id, event_id, event, next_attempt_at, event_created_at,
                                    created_at)
    SELECT NEW.org_id, gen_random_uuid(), e.id, NEW.id, NEW.event, NEW.created_at, NEW.created_at, NEW.created_at
    FROM webhook_endpoints e
    WHERE e.org_id = NEW.org_id AND e.environment = NEW.environment
      AND (cardinality(e.enabled_events) = 0 OR NEW.event = ANY (e.enabled_events));
    IF FOUND THEN
        PERFORM pg_notify('casework_webhooks', '');
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER webhook_fan_out AFTER INSERT ON webhook_outbox FOR EACH ROW EXECUTE FUNCTION webhook_fan_out();

-- One-time links to the sandbox capture page; the token itself is never stored.
CREATE TABLE capture_links (
    org_id uuid NOT NULL,
    token_hash bytea NOT NULL,
    environment text NOT NULL CHECK (environment = 'sandbox'),
    session_id uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, token_hash),
    FOREIGN KEY (org_id, session_id) REFERENCES sessions (org_id, id)
);
CREATE UNIQUE INDEX capture_links_token_idx ON capture_links (token_hash);
