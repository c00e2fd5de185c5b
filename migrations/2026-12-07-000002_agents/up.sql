-- Agents (API.md §1): calls through /mcp are recorded with actor type `agent`.
ALTER TABLE case_events DROP CONSTRAINT case_events_actor_type_check;
ALTER TABLE case_events ADD CONSTRAINT case_events_actor_type_check
    CHECK (actor_type IN ('org_user', 'api_key', 'system', 'agent'));

ALTER TABLE case_events DROP CONSTRAINT case_events_event_type_check;
ALTER TABLE case_events ADD CONSTRAINT case_events_event_type_check
    CHECK (event_type IN ('created', 'claimed', 'claim_renewed', 'released', 'claim_expired', 'assigned',
        'escalated', 'recommended', 'approved', 'rejected', 'updated', 'tags_changed', 'note_added',
        'pii_updated', 'check_overridden', 'redacted', 'agent_recommended'));

-- MCP sessions (the client's `initialize`), so any instance can serve a session another
-- instance started.
CREATE TABLE mcp_sessions (
    id text PRIMARY KEY CHECK (char_length(id) <= 255),
    state jsonb NOT NULL,
    created_at timestamptz NOT NULL
);
