-- S5a, POST /cases/search (status in open/in_review, priority >= high): the key, the first page
-- and the exact total, in one statement.
SELECT c.*,
       (SELECT count(*) FROM cases t WHERE t.org_id = :org AND t.environment = 'sandbox'
          AND t.status IN ('open', 'in_review') AND t.priority_rank >= 2) AS total
FROM cases c
JOIN api_keys k ON k.org_id = c.org_id AND k.id = :key AND k.revoked_at IS NULL
WHERE c.org_id = :org AND c.environment = 'sandbox' AND c.status IN ('open', 'in_review') AND c.priority_rank >= 2
ORDER BY c.entered_review_at, c.id
LIMIT 25;
