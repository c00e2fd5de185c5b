-- API conventions: idempotency records and the shared rate-limit counters.

CREATE TABLE idempotency_keys (
    org_id uuid NOT NULL,
    environment text NOT NULL CHECK (environment IN ('live', 'sandbox')),
    api_key_id uuid NOT NULL,
    key text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    -- SHA-256 of method, path and body.
    fingerprint bytea NOT NULL CHECK (octet_length(fingerprint) = 32),
    -- Null while the first request runs; until then `locked_until` bounds a crashed run.
    status_code integer,
    response_headers jsonb,
    response_body bytea,
    request_id text NOT NULL,
    locked_until timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, environment, api_key_id, key),
    FOREIGN KEY (org_id, api_key_id) REFERENCES api_keys (org_id, id)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Fixed one-minute windows per key (the shared limiter; the default limiter is in process).
CREATE TABLE rate_limit_windows (
    org_id uuid NOT NULL,
    api_key_id uuid NOT NULL,
    window_start timestamptz NOT NULL,
    accepted integer NOT NULL CHECK (accepted >= 0),
    PRIMARY KEY (org_id, api_key_id, window_start),
    FOREIGN KEY (org_id, api_key_id) REFERENCES api_keys (org_id, id)
);
CREATE INDEX rate_limit_windows_start_idx ON rate_limit_windows (window_start);
