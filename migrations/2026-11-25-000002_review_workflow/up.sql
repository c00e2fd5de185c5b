-- The review workflow: the blocklist, asynchronous check summaries, and the claim sweeper.

CREATE TABLE blocklist_entries (
    org_id uuid NOT NULL,
    environment text NOT NULL CHECK (environment IN ('live', 'sandbox')),
    id uuid NOT NULL,
    case_id uuid NOT NULL,
    -- HMAC-SHA256 under security.blocklist_key of the normalized document number; never the number.
    document_hash bytea NOT NULL CHECK (octet_length(document_hash) = 32),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    CONSTRAINT blocklist_entries_document_key UNIQUE (org_id, environment, document_hash),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, id)
);
CREATE INDEX blocklist_entries_list_idx ON blocklist_entries (org_id, environment, created_at, id);

-- An override marks the summary stale; a worker recomputes it.
ALTER TABLE sessions ADD COLUMN checks_summary_stale boolean NOT NULL DEFAULT false;
CREATE INDEX sessions_stale_summary_idx ON sessions (org_id, id) WHERE checks_summary_stale;

-- The sweeper looks for leases that have lapsed, across tenants.
CREATE INDEX cases_claim_expiry_idx ON cases (claim_expires_at) WHERE claim_expires_at IS NOT NULL;
