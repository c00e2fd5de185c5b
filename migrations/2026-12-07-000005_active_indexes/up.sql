-- Lists and searches over undecided cases (every tab but `all`, undecided statuses) read these,
-- never the decided history: the default order, and priority with the fields counts test.
CREATE INDEX cases_active_entered_idx ON cases (org_id, environment, entered_review_at, id) WHERE decision IS NULL;
CREATE INDEX cases_active_priority_idx ON cases (org_id, environment, priority_rank, status, claim_expires_at)
    WHERE decision IS NULL;
