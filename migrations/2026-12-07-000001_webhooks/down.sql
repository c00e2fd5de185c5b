DROP TABLE capture_links;
DROP TRIGGER webhook_fan_out ON webhook_outbox;
DROP FUNCTION webhook_fan_out();
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DROP INDEX webhook_outbox_window_idx;
ALTER TABLE webhook_outbox ADD COLUMN dispatched_at timestamptz;
ALTER TABLE sessions DROP COLUMN result_status, DROP COLUMN decided_at, DROP COLUMN rejection_reason,
    DROP COLUMN rejection_reason_code;
CREATE INDEX webhook_outbox_pending_idx ON webhook_outbox (seq) WHERE dispatched_at IS NULL;
