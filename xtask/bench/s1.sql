-- S1, GET /cases/{id}: the key, the case and its session, in one statement.
\set n random(1, :ids)
SELECT c.*, s.*
FROM bench_case_ids b
JOIN api_keys k ON k.org_id = b.org_id AND k.id = :key AND k.revoked_at IS NULL
JOIN cases c ON c.org_id = b.org_id AND c.id = b.case_id
JOIN sessions s ON s.org_id = c.org_id AND s.id = c.session_id
WHERE b.n = :n;
