ALTER TABLE api_keys DROP CONSTRAINT api_keys_key_hash_key;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_hash_key UNIQUE (org_id, key_hash);
CREATE INDEX api_keys_key_hash_idx ON api_keys (key_hash);

DELETE FROM idempotency_keys;
ALTER TABLE idempotency_keys DROP COLUMN response_key_id, DROP COLUMN attempt;
