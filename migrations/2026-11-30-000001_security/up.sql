-- Authentication finds a key by its hash alone, before it knows the organization, so the hash
-- must name one key across every organization, not one per organization.
DROP INDEX api_keys_key_hash_idx;
ALTER TABLE api_keys DROP CONSTRAINT api_keys_hash_key;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash);

-- Stored responses are encrypted (they may carry PII or a new key's secret), and each run holds
-- its record under a random attempt id so a run that was taken over cannot write it. Records
-- stored in clear before this migration are dropped rather than kept readable.
DELETE FROM idempotency_keys;
ALTER TABLE idempotency_keys
    ADD COLUMN response_key_id text,
    ADD COLUMN attempt uuid NOT NULL;
