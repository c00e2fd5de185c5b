-- PII rows per key id are counted at start-up (a key removed too early) and at each metrics
-- scrape, and re-encryption looks for rows under other keys: an index of the sealed rows only.
CREATE INDEX sessions_pii_key_idx ON sessions (extracted_data_key_id) WHERE extracted_data_key_id IS NOT NULL;
