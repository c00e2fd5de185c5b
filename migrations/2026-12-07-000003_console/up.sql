-- The console (API.md §8): people sign in with email and password.

-- argon2id (PHC string); null until the user sets one through an invitation.
ALTER TABLE org_users ADD COLUMN password_hash text;

-- One-time links to set a password; the token is kept only as a SHA-256 hash.
CREATE TABLE invitations (
    org_id uuid NOT NULL,
    token_hash bytea NOT NULL,
    org_user_id uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, token_hash),
    FOREIGN KEY (org_id, org_user_id) REFERENCES org_users (org_id, id)
);
CREATE UNIQUE INDEX invitations_token_idx ON invitations (token_hash);
CREATE INDEX invitations_user_idx ON invitations (org_id, org_user_id);

-- Server-side console sessions; the cookie holds a token kept here only as a hash.
CREATE TABLE console_sessions (
    org_id uuid NOT NULL,
    id uuid NOT NULL,
    token_hash bytea NOT NULL,
    org_user_id uuid NOT NULL,
    environment text NOT NULL CHECK (environment IN ('live', 'sandbox')),
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    ended_at timestamptz,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, org_user_id) REFERENCES org_users (org_id, id)
);
CREATE UNIQUE INDEX console_sessions_token_idx ON console_sessions (token_hash);
CREATE INDEX console_sessions_user_idx ON console_sessions (org_id, org_user_id) WHERE ended_at IS NULL;

-- Every sign-in attempt: what throttling counts and what admins list. An attempt for an email
-- that names no user has no organization.
CREATE TABLE sign_in_attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id uuid,
    org_user_id uuid,
    email text NOT NULL CHECK (char_length(email) <= 320),
    client text NOT NULL CHECK (char_length(client) <= 64),
    outcome text NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'locked')),
    at timestamptz NOT NULL
);
CREATE INDEX sign_in_attempts_email_idx ON sign_in_attempts (lower(email), at);
CREATE INDEX sign_in_attempts_client_idx ON sign_in_attempts (client, at);
CREATE INDEX sign_in_attempts_org_idx ON sign_in_attempts (org_id, at DESC);

-- A person unmasking extracted data in the console is audited.
ALTER TABLE case_events DROP CONSTRAINT case_events_event_type_check;
ALTER TABLE case_events ADD CONSTRAINT case_events_event_type_check
    CHECK (event_type IN ('created', 'claimed', 'claim_renewed', 'released', 'claim_expired', 'assigned',
        'escalated', 'recommended', 'approved', 'rejected', 'updated', 'tags_changed', 'note_added',
        'pii_updated', 'check_overridden', 'redacted', 'agent_recommended', 'pii_revealed'));

-- Live console updates: every committed case event wakes the console's streams on every
-- instance (PostgreSQL delivers the notification at commit).
CREATE FUNCTION console_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('casework_changes', NEW.org_id || ':' || NEW.environment || ':' || NEW.case_id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER console_change AFTER INSERT ON case_events FOR EACH ROW EXECUTE FUNCTION console_change();
