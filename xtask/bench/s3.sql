-- S3, POST /sessions under review: the session, its case, the event, the outbox row and the
-- idempotency record, in one statement (the triggers fan out and notify as for the service).
\set n random(1, 2000000000)
WITH new_session AS (
    INSERT INTO sessions (org_id, environment, id, external_ref, status, checks, checks_summary,
                          extracted_data_ciphertext, extracted_data_key_id, status_changed_at, created_at, updated_at,
                          result_status)
    VALUES (:org, 'sandbox', gen_random_uuid(), 'pgbench_' || :n, 'under_review',
            '[{"policy":"face_match","status":"failed","score":0.41}]',
            '{"total":1,"passed":0,"failed":1,"pending":0,"overridden":0,"outcome":"failed"}',
            decode(repeat('00', 160), 'hex'), 'dev-1', now(), now(), now(), 'needs_review')
    RETURNING org_id, id
), new_case AS (
    INSERT INTO cases (org_id, environment, id, session_id, status, entered_review_at, version, created_at, updated_at)
    SELECT org_id, 'sandbox', gen_random_uuid(), id, 'open', now(), 1, now(), now() FROM new_session
    RETURNING org_id, id
), event AS (
    INSERT INTO case_events (org_id, id, environment, case_id, event_type, actor_type, actor_id, actor_name, changes, at)
    SELECT org_id, gen_random_uuid(), 'sandbox', id, 'created', 'api_key', :key, 'pgbench', '{}', now() FROM new_case
    RETURNING 1
), outbox AS (
    INSERT INTO webhook_outbox (org_id, id, environment, event, case_id, payload, created_at)
    SELECT org_id, gen_random_uuid(), 'sandbox', 'case.created', id, '{"case":{}}', now() FROM new_case
    RETURNING 1
)
INSERT INTO idempotency_keys (org_id, environment, api_key_id, key, fingerprint, status_code, response_headers,
                              response_body, request_id, locked_until, created_at, attempt)
VALUES (:org, 'sandbox', :key, 'pgbench-' || :n || '-' || gen_random_uuid(), decode(repeat('00', 32), 'hex'), 201,
        '{}', decode(repeat('00', 600), 'hex'), 'req_pgbench', now(), now(), gen_random_uuid());
