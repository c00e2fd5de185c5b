DROP INDEX cases_active_assignee_idx;
DROP INDEX cases_active_status_idx;
DROP TRIGGER case_tally_delete ON cases;
DROP TRIGGER case_tally_update ON cases;
DROP TRIGGER case_tally_insert ON cases;
DROP FUNCTION case_tally();
DROP TABLE case_tally_deltas;
DROP TABLE case_tallies;
DROP FUNCTION case_bucket(text, uuid);
