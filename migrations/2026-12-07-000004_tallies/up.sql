-- Counts that do not scan history. Each tenant's cases are tallied by bucket (its status, with
-- `open` split by whether anyone is assigned): a base row per bucket plus append-only deltas
-- that every write of `cases` inserts in its own transaction (a statement trigger, one row per
-- bucket and statement). Writers never update a shared row, so a claim locks nothing but its
-- case; a compactor folds the deltas into the base rows, in one transaction, every second.
-- Base plus deltas is exact at any snapshot.
CREATE FUNCTION case_bucket(status text, assigned_to uuid) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN status = 'open' AND assigned_to IS NULL THEN 'open_unassigned'
                WHEN status = 'open' THEN 'open_assigned'
                ELSE status END;

CREATE TABLE case_tallies (
    org_id uuid NOT NULL,
    environment text NOT NULL,
    bucket text NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (org_id, environment, bucket)
);

CREATE TABLE case_tally_deltas (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id uuid NOT NULL,
    environment text NOT NULL,
    bucket text NOT NULL,
    delta bigint NOT NULL
);
CREATE INDEX case_tally_deltas_tenant_idx ON case_tally_deltas (org_id, environment);

CREATE FUNCTION case_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO case_tally_deltas (org_id, environment, bucket, delta)
        SELECT org_id, environment, case_bucket(status, assigned_to), count(*)
        FROM new_rows GROUP BY 1, 2, 3;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO case_tally_deltas (org_id, environment, bucket, delta)
        SELECT org_id, environment, case_bucket(status, assigned_to), -count(*)
        FROM old_rows GROUP BY 1, 2, 3;
    ELSE
        INSERT INTO case_tally_deltas (org_id, environment, bucket, delta)
        SELECT org_id, environment, bucket, sum(delta)
        FROM (SELECT org_id, environment, case_bucket(status, assigned_to) AS bucket, -1 AS delta FROM old_rows
              UNION ALL
              SELECT org_id, environment, case_bucket(status, assigned_to), 1 FROM new_rows) AS moved
        GROUP BY 1, 2, 3
        HAVING sum(delta) <> 0;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER case_tally_insert AFTER INSERT ON cases REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION case_tally();
CREATE TRIGGER case_tally_update AFTER UPDATE ON cases REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION case_tally();
CREATE TRIGGER case_tally_delete AFTER DELETE ON cases REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION case_tally();

INSERT INTO case_tallies (org_id, environment, bucket, n)
SELECT org_id, environment, case_bucket(status, assigned_to), count(*) FROM cases GROUP BY 1, 2, 3;

-- The undecided cases only: what counts and `mine` read, however long the history grows.
CREATE INDEX cases_active_status_idx ON cases (org_id, environment, status, claim_expires_at) WHERE decision IS NULL;
CREATE INDEX cases_active_assignee_idx ON cases (org_id, environment, assigned_to) WHERE decision IS NULL;
