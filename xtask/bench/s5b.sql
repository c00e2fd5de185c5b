-- S5b, GET /cases/counts: the key and the five tab counts, in one statement.
SELECT count(*) FILTER (WHERE (status = 'open' AND assigned_to IS NULL)
                           OR (status = 'in_review' AND claim_expires_at <= now())) AS unassigned,
       count(*) FILTER (WHERE status NOT IN ('approved', 'rejected') AND assigned_to = :reviewer
                           AND NOT (status = 'in_review' AND claim_expires_at <= now())) AS mine,
       count(*) FILTER (WHERE status = 'pending_second_review') AS pending_second_review,
       count(*) FILTER (WHERE status = 'escalated') AS escalated,
       count(*) AS all_cases
FROM cases c
JOIN api_keys k ON k.org_id = c.org_id AND k.id = :key AND k.revoked_at IS NULL
WHERE c.org_id = :org AND c.environment = 'sandbox';
