DROP TABLE mcp_sessions;
DELETE FROM case_events WHERE actor_type = 'agent' OR event_type = 'agent_recommended';
ALTER TABLE case_events DROP CONSTRAINT case_events_event_type_check;
ALTER TABLE case_events ADD CONSTRAINT case_events_event_type_check
    CHECK (event_type IN ('created', 'claimed', 'claim_renewed', 'released', 'claim_expired', 'assigned',
        'escalated', 'recommended', 'approved', 'rejected', 'updated', 'tags_changed', 'note_added',
        'pii_updated', 'check_overridden', 'redacted'));
ALTER TABLE case_events DROP CONSTRAINT case_events_actor_type_check;
ALTER TABLE case_events ADD CONSTRAINT case_events_actor_type_check
    CHECK (actor_type IN ('org_user', 'api_key', 'system'));
