DROP INDEX sessions_pii_key_idx;
