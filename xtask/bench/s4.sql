-- S4, POST /cases/next: the first eligible case claimed (skipping locked rows), its event and
-- outbox row, returned with its session, in one statement.
WITH next AS (
    SELECT org_id, id FROM cases
    WHERE org_id = :org AND environment = 'sandbox'
      AND ((status = 'open' AND assigned_to IS NULL) OR status = 'pending_second_review')
    ORDER BY priority_rank DESC, entered_review_at, id
    LIMIT 1 FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE cases c SET status = 'in_review', assigned_to = :reviewer, claimed_at = now(),
                       claim_expires_at = now() + interval '30 minutes', version = c.version + 1, updated_at = now()
    FROM next WHERE c.org_id = next.org_id AND c.id = next.id
    RETURNING c.*
), event AS (
    INSERT INTO case_events (org_id, id, environment, case_id, event_type, actor_type, actor_id, actor_name, changes, at)
    SELECT org_id, gen_random_uuid(), 'sandbox', id, 'claimed', 'api_key', :key, 'pgbench', '{}', now() FROM claimed
    RETURNING 1
), outbox AS (
    INSERT INTO webhook_outbox (org_id, id, environment, event, case_id, payload, created_at)
    SELECT org_id, gen_random_uuid(), 'sandbox', 'case.claimed', id, '{"case":{}}', now() FROM claimed
    RETURNING 1
)
SELECT claimed.*, s.* FROM claimed JOIN sessions s ON s.org_id = claimed.org_id AND s.id = claimed.session_id;
