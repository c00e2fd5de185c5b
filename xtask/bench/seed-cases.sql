-- Bulk cases, each on its own session (copying the checks of the session :template, created
-- through the API): :kind 'decided' (approved or rejected over the past year, the history every
-- list and count must not pay for) or 'open' (waiting in the queue). No extracted data: PII is
-- sealed to its row by the service, so only sessions created through the API carry it.
WITH template AS (
    SELECT checks, checks_summary FROM sessions WHERE org_id = :'org' AND id = :'template'
), numbered AS (
    SELECT g, gen_random_uuid() AS session_id, gen_random_uuid() AS case_id,
           now() - (g % 525600) * interval '1 minute' - interval '2 days' AS entered
    FROM generate_series(1, :count) AS g
), new_sessions AS (
    INSERT INTO sessions (org_id, environment, id, external_ref, status, checks, checks_summary,
                          status_changed_at, created_at, updated_at, result_status, decided_at)
    SELECT :'org', 'sandbox', n.session_id, 'bulk_' || :'kind' || '_' || n.g,
           CASE WHEN :'kind' = 'open' THEN 'under_review' WHEN n.g % 5 = 0 THEN 'declined' ELSE 'approved' END,
           t.checks, t.checks_summary, n.entered, n.entered, n.entered,
           CASE WHEN :'kind' = 'open' THEN 'needs_review' WHEN n.g % 5 = 0 THEN 'declined' ELSE 'approved' END,
           CASE WHEN :'kind' = 'open' THEN NULL ELSE n.entered + interval '3 hours' END
    FROM numbered n, template t
    RETURNING id
)
INSERT INTO cases (org_id, environment, id, session_id, status, decision, priority, entered_review_at,
                   decided_at, rejection_reason, rejection_reason_code, version, created_at, updated_at)
SELECT :'org', 'sandbox', n.case_id, n.session_id,
       CASE WHEN :'kind' = 'open' THEN 'open' WHEN n.g % 5 = 0 THEN 'rejected' ELSE 'approved' END,
       CASE WHEN :'kind' = 'open' THEN NULL WHEN n.g % 5 = 0 THEN 'rejected' ELSE 'approved' END,
       CASE WHEN n.g % 10 = 0 THEN 'high' WHEN n.g % 37 = 0 THEN 'urgent' ELSE 'normal' END,
       n.entered,
       CASE WHEN :'kind' = 'open' THEN NULL ELSE n.entered + interval '3 hours' END,
       CASE WHEN :'kind' <> 'open' AND n.g % 5 = 0 THEN 'document expired' END,
       CASE WHEN :'kind' <> 'open' AND n.g % 5 = 0 THEN 'document_expired' END,
       CASE WHEN :'kind' = 'open' THEN 1 ELSE 3 END, n.entered,
       n.entered + CASE WHEN :'kind' = 'open' THEN interval '0' ELSE interval '3 hours' END
FROM numbered n
WHERE EXISTS (SELECT 1 FROM new_sessions s WHERE s.id = n.session_id);
