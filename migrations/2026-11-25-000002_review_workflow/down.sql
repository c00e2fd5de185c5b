DROP INDEX cases_claim_expiry_idx;
DROP INDEX sessions_stale_summary_idx;
ALTER TABLE sessions DROP COLUMN checks_summary_stale;
DROP TABLE blocklist_entries;
