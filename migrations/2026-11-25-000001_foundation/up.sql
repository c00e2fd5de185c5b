-- The foundation: tenants, reviewers, API keys, sessions, cases and their audit trail.
--
-- Every tenant table carries org_id, and every primary key, unique constraint and foreign key
-- includes it, so the schema can be distributed by org_id without a rewrite. Enumerations are
-- text with CHECK constraints (their spellings are the API's). Times are compared only with
-- the service's clock, bound as parameters; no default here calls now().

CREATE TABLE organizations (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
    created_at timestamptz NOT NULL
);

CREATE TABLE environment_settings (
    org_id uuid NOT NULL REFERENCES organizations (id),
    environment text NOT NULL CHECK (environment IN ('live', 'sandbox')),
    dual_review boolean NOT NULL DEFAULT false,
    claim_ttl_seconds integer NOT NULL DEFAULT 1800 CHECK (claim_ttl_seconds BETWEEN 60 AND 86400),
    demo_case_limit integer NOT NULL DEFAULT 3 CHECK (demo_case_limit BETWEEN 0 AND 100),
    api_pii_fields jsonb,
    sensitive_data_retention_days integer CHECK (sensitive_data_retention_days BETWEEN 1 AND 3650),
    rate_limit_per_minute integer NOT NULL DEFAULT 1000 CHECK (rate_limit_per_minute BETWEEN 1 AND 100000),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, environment)
);

CREATE TABLE org_users (
    org_id uuid NOT NULL REFERENCES organizations (id),
    id uuid NOT NULL,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
    email text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 320),
    role text NOT NULL CHECK (role IN ('reviewer', 'senior_reviewer', 'admin')),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX org_users_email_key ON org_users (org_id, lower(email));

CREATE TABLE api_keys (
    org_id uuid NOT NULL REFERENCES organizations (id),
    id uuid NOT NULL,
    environment text NOT NULL CHECK (environment IN ('live', 'sandbox')),
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
    -- SHA-256 of the secret; the secret itself is never stored.
    key_hash bytea NOT NULL CHECK (octet_length(key_hash) = 32),
    scopes text[] NOT NULL,
    org_user_id uuid,
    api_version text NOT NULL,
    expires_at timestamptz,
    last_used_at timestamptz,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz,
    PRIMARY KEY (org_id, id),
    CONSTRAINT api_keys_hash_key UNIQUE (org_id, key_hash),
    FOREIGN KEY (org_id, org_user_id) REFERENCES org_users (org_id, id)
);
-- Authentication looks a key up by its hash before it knows the organization.
CREATE INDEX api_keys_key_hash_idx ON api_keys (key_hash);

CREATE TABLE sessions (
    org_id uuid NOT NULL REFERENCES organizations (id),
    environment text NOT NULL CHECK (environment IN ('live', 'sandbox')),
    id uuid NOT NULL,
    external_ref text CHECK (char_length(external_ref) <= 255),
    metadata jsonb NOT NULL DEFAULT '{}',
    status text NOT NULL CHECK (status IN ('pending', 'capturing', 'processing', 'completed', 'expired',
        'failed', 'awaiting_external', 'under_review', 'approved', 'declined')),
    checks jsonb NOT NULL DEFAULT '[]',
    checks_summary jsonb NOT NULL,
    -- AES-256-GCM ciphertext (nonce first) of the extracted data, and the id of its key.
    extracted_data_ciphertext bytea,
    extracted_data_key_id text,
    sensitive_data_expired boolean NOT NULL DEFAULT false,
    status_changed_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    CHECK ((extracted_data_ciphertext IS NULL) = (extracted_data_key_id IS NULL))
);
CREATE INDEX sessions_newest_idx ON sessions (org_id, environment, created_at DESC, id DESC);
CREATE INDEX sessions_external_ref_idx ON sessions (org_id, environment, external_ref)
    WHERE external_ref IS NOT NULL;

CREATE TABLE cases (
    org_id uuid NOT NULL,
    environment text NOT NULL CHECK (environment IN ('live', 'sandbox')),
    id uuid NOT NULL,
    session_id uuid NOT NULL,
    status text NOT NULL CHECK (status IN ('open', 'in_review', 'escalated', 'pending_second_review',
        'approved', 'rejected')),
    decision text CHECK (decision IN ('approved', 'rejected')),
    priority text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    -- The queue order, urgent first: what the claim-next index sorts on.
    priority_rank smallint NOT NULL GENERATED ALWAYS AS (
        CASE priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END
    ) STORED,
    assigned_to uuid,
    claimed_at timestamptz,
    claim_expires_at timestamptz,
    entered_review_at timestamptz NOT NULL,
    decided_at timestamptz,
    escalated_to uuid,
    escalation_reason text CHECK (char_length(escalation_reason) <= 2000),
    recommendation jsonb,
    recommended_by uuid,
    rejection_reason text CHECK (char_length(rejection_reason) BETWEEN 1 AND 2000),
    rejection_reason_code text CHECK (rejection_reason_code IN ('document_fraud', 'document_invalid',
        'document_expired', 'face_mismatch', 'liveness_failed', 'watchlist_match', 'underage',
        'duplicate_identity', 'data_mismatch', 'other')),
    tags text[] NOT NULL DEFAULT '{}',
    metadata jsonb NOT NULL DEFAULT '{}',
    custom_fields jsonb NOT NULL DEFAULT '{}',
    is_demo boolean NOT NULL DEFAULT false,
    version bigint NOT NULL CHECK (version >= 1),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    -- One case per session.
    CONSTRAINT cases_one_per_session UNIQUE (org_id, session_id),
    FOREIGN KEY (org_id, session_id) REFERENCES sessions (org_id, id),
    FOREIGN KEY (org_id, assigned_to) REFERENCES org_users (org_id, id),
    FOREIGN KEY (org_id, escalated_to) REFERENCES org_users (org_id, id),
    FOREIGN KEY (org_id, recommended_by) REFERENCES org_users (org_id, id),
    CONSTRAINT cases_lease_complete CHECK ((claimed_at IS NULL) = (claim_expires_at IS NULL)),
    CONSTRAINT cases_lease_has_holder CHECK (claim_expires_at IS NULL OR assigned_to IS NOT NULL),
    CONSTRAINT cases_decision_is_final CHECK ((decision IS NULL) = (status NOT IN ('approved', 'rejected'))),
    CONSTRAINT cases_in_review_has_lease CHECK (status <> 'in_review' OR claim_expires_at IS NOT NULL)
);
-- Shaped exactly like the claim-next query (API.md §2): the eligible rows only, in queue order.
CREATE INDEX cases_claim_next_idx ON cases (org_id, environment, priority_rank DESC, entered_review_at, id)
    WHERE (status = 'open' AND assigned_to IS NULL) OR status = 'pending_second_review';
-- The default list order and the created_at filters and sort.
CREATE INDEX cases_entered_review_idx ON cases (org_id, environment, entered_review_at, id);
CREATE INDEX cases_created_idx ON cases (org_id, environment, created_at, id);
CREATE INDEX cases_status_idx ON cases (org_id, environment, status);
CREATE INDEX cases_assigned_to_idx ON cases (org_id, environment, assigned_to) WHERE assigned_to IS NOT NULL;
CREATE INDEX cases_tags_idx ON cases USING gin (tags);

CREATE TABLE case_events (
    org_id uuid NOT NULL,
    id uuid NOT NULL,
    -- Insertion order: events are listed in the order they were written.
    seq bigint GENERATED ALWAYS AS IDENTITY,
    environment text NOT NULL CHECK (environment IN ('live', 'sandbox')),
    case_id uuid NOT NULL,
    event_type text NOT NULL CHECK (event_type IN ('created', 'claimed', 'claim_renewed', 'released',
        'claim_expired', 'assigned', 'escalated', 'recommended', 'approved', 'rejected', 'updated',
        'tags_changed', 'note_added', 'pii_updated', 'check_overridden', 'redacted')),
    actor_type text NOT NULL CHECK (actor_type IN ('org_user', 'api_key', 'system')),
    actor_id uuid,
    actor_name text NOT NULL,
    changes jsonb NOT NULL DEFAULT '{}',
    reason text,
    at timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id),
    CHECK ((actor_type = 'system') = (actor_id IS NULL))
);
CREATE INDEX case_events_timeline_idx ON case_events (org_id, case_id, seq);

CREATE TABLE notes (
    org_id uuid NOT NULL,
    id uuid NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    environment text NOT NULL CHECK (environment IN ('live', 'sandbox')),
    case_id uuid NOT NULL,
    author_type text NOT NULL CHECK (author_type IN ('org', 'api')),
    author_name text NOT NULL,
    author_id uuid,
    content text NOT NULL CHECK (char_length(content) BETWEEN 1 AND 10000),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id),
    FOREIGN KEY (org_id, author_id) REFERENCES org_users (org_id, id)
);
CREATE INDEX notes_case_idx ON notes (org_id, case_id, seq);

-- The transactional outbox: one row per webhook event, written with the change that caused it.
CREATE TABLE webhook_outbox (
    org_id uuid NOT NULL,
    -- The webhook event id: a case.* event reuses the id of the case event it reports.
    id uuid NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    environment text NOT NULL CHECK (environment IN ('live', 'sandbox')),
    event text NOT NULL,
    case_id uuid,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    dispatched_at timestamptz,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id)
);
CREATE INDEX webhook_outbox_pending_idx ON webhook_outbox (seq) WHERE dispatched_at IS NULL;
