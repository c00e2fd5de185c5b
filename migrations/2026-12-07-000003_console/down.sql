DROP TRIGGER console_change ON case_events;
DROP FUNCTION console_change();
DELETE FROM case_events WHERE event_type = 'pii_revealed';
ALTER TABLE case_events DROP CONSTRAINT case_events_event_type_check;
ALTER TABLE case_events ADD CONSTRAINT case_events_event_type_check
    CHECK (event_type IN ('created', 'claimed', 'claim_renewed', 'released', 'claim_expired', 'assigned',
        'escalated', 'recommended', 'approved', 'rejected', 'updated', 'tags_changed', 'note_added',
        'pii_updated', 'check_overridden', 'redacted', 'agent_recommended'));
DROP TABLE sign_in_attempts;
DROP TABLE console_sessions;
DROP TABLE invitations;
ALTER TABLE org_users DROP COLUMN password_hash;
