-- S2, GET /cases?limit=25: the key, the first page in queue order and the exact total.
SELECT c.*, (SELECT count(*) FROM cases t WHERE t.org_id = :org AND t.environment = 'sandbox') AS total
FROM cases c
JOIN api_keys k ON k.org_id = c.org_id AND k.id = :key AND k.revoked_at IS NULL
WHERE c.org_id = :org AND c.environment = 'sandbox'
ORDER BY c.entered_review_at, c.id
LIMIT 25;
