// @generated automatically by Diesel CLI.

diesel::table! {
    api_keys (org_id, id) {
        org_id -> Uuid,
        id -> Uuid,
        environment -> Text,
        name -> Text,
        key_hash -> Bytea,
        scopes -> Array<Nullable<Text>>,
        org_user_id -> Nullable<Uuid>,
        api_version -> Text,
        expires_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    blocklist_entries (org_id, id) {
        org_id -> Uuid,
        environment -> Text,
        id -> Uuid,
        case_id -> Uuid,
        document_hash -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    capture_links (org_id, token_hash) {
        org_id -> Uuid,
        token_hash -> Bytea,
        environment -> Text,
        session_id -> Uuid,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    case_events (org_id, id) {
        org_id -> Uuid,
        id -> Uuid,
        seq -> Int8,
        environment -> Text,
        case_id -> Uuid,
        event_type -> Text,
        actor_type -> Text,
        actor_id -> Nullable<Uuid>,
        actor_name -> Text,
        changes -> Jsonb,
        reason -> Nullable<Text>,
        at -> Timestamptz,
    }
}

diesel::table! {
    case_tallies (org_id, environment, bucket) {
        org_id -> Uuid,
        environment -> Text,
        bucket -> Text,
        n -> Int8,
    }
}

diesel::table! {
    case_tally_deltas (id) {
        id -> Int8,
        org_id -> Uuid,
        environment -> Text,
        bucket -> Text,
        delta -> Int8,
    }
}

diesel::table! {
    cases (org_id, id) {
        org_id -> Uuid,
        environment -> Text,
        id -> Uuid,
        session_id -> Uuid,
        status -> Text,
        decision -> Nullable<Text>,
        priority -> Text,
        priority_rank -> Int2,
        assigned_to -> Nullable<Uuid>,
        claimed_at -> Nullable<Timestamptz>,
        claim_expires_at -> Nullable<Timestamptz>,
        entered_review_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
        escalated_to -> Nullable<Uuid>,
        escalation_reason -> Nullable<Text>,
        recommendation -> Nullable<Jsonb>,
        recommended_by -> Nullable<Uuid>,
        rejection_reason -> Nullable<Text>,
        rejection_reason_code -> Nullable<Text>,
        tags -> Array<Nullable<Text>>,
        metadata -> Jsonb,
        custom_fields -> Jsonb,
        is_demo -> Bool,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    console_sessions (org_id, id) {
        org_id -> Uuid,
        id -> Uuid,
        token_hash -> Bytea,
        org_user_id -> Uuid,
        environment -> Text,
        csrf_token -> Text,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    environment_settings (org_id, environment) {
        org_id -> Uuid,
        environment -> Text,
        dual_review -> Bool,
        claim_ttl_seconds -> Int4,
        demo_case_limit -> Int4,
        api_pii_fields -> Nullable<Jsonb>,
        sensitive_data_retention_days -> Nullable<Int4>,
        rate_limit_per_minute -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (org_id, environment, api_key_id, key) {
        org_id -> Uuid,
        environment -> Text,
        api_key_id -> Uuid,
        key -> Text,
        fingerprint -> Bytea,
        status_code -> Nullable<Int4>,
        response_headers -> Nullable<Jsonb>,
        response_body -> Nullable<Bytea>,
        request_id -> Text,
        locked_until -> Timestamptz,
        created_at -> Timestamptz,
        response_key_id -> Nullable<Text>,
        attempt -> Uuid,
    }
}

diesel::table! {
    invitations (org_id, token_hash) {
        org_id -> Uuid,
        token_hash -> Bytea,
        org_user_id -> Uuid,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    mcp_sessions (id) {
        id -> Text,
        state -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    notes (org_id, id) {
        org_id -> Uuid,
        id -> Uuid,
        seq -> Int8,
        environment -> Text,
        case_id -> Uuid,
        author_type -> Text,
        author_name -> Text,
        author_id -> Nullable<Uuid>,
        content -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    org_users (org_id, id) {
        org_id -> Uuid,
        id -> Uuid,
        name -> Text,
        email -> Text,
        role -> Text,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        password_hash -> Nullable<Text>,
    }
}

diesel::table! {
    organizations (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    rate_limit_windows (org_id, api_key_id, window_start) {
        org_id -> Uuid,
        api_key_id -> Uuid,
        window_start -> Timestamptz,
        accepted -> Int4,
    }
}

diesel::table! {
    sessions (org_id, id) {
        org_id -> Uuid,
        environment -> Text,
        id -> Uuid,
        external_ref -> Nullable<Text>,
        metadata -> Jsonb,
        status -> Text,
        checks -> Jsonb,
        checks_summary -> Jsonb,
        extracted_data_ciphertext -> Nullable<Bytea>,
        extracted_data_key_id -> Nullable<Text>,
        sensitive_data_expired -> Bool,
        status_changed_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        checks_summary_stale -> Bool,
        result_status -> Nullable<Text>,
        decided_at -> Nullable<Timestamptz>,
        rejection_reason -> Nullable<Text>,
        rejection_reason_code -> Nullable<Text>,
    }
}

diesel::table! {
    sign_in_attempts (id) {
        id -> Int8,
        org_id -> Nullable<Uuid>,
        org_user_id -> Nullable<Uuid>,
        email -> Text,
        client -> Text,
        outcome -> Text,
        at -> Timestamptz,
    }
}

diesel::table! {
    webhook_deliveries (org_id, id) {
        org_id -> Uuid,
        id -> Uuid,
        endpoint_id -> Uuid,
        event_id -> Uuid,
        event -> Text,
        state -> Text,
        attempts -> Int4,
        last_status_code -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        next_attempt_at -> Nullable<Timestamptz>,
        lease_until -> Nullable<Timestamptz>,
        lease_token -> Nullable<Uuid>,
        body -> Nullable<Bytea>,
        event_created_at -> Timestamptz,
        created_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_endpoints (org_id, id) {
        org_id -> Uuid,
        id -> Uuid,
        environment -> Text,
        url -> Text,
        enabled -> Bool,
        enabled_events -> Array<Nullable<Text>>,
        label -> Nullable<Text>,
        description -> Nullable<Text>,
        key_inflection -> Text,
        api_version -> Text,
        disabled_reason -> Nullable<Text>,
        secret_ciphertext -> Bytea,
        secret_key_id -> Text,
        previous_secret_ciphertext -> Nullable<Bytea>,
        previous_secret_key_id -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamptz>,
        consecutive_failures -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_outbox (org_id, id) {
        org_id -> Uuid,
        id -> Uuid,
        seq -> Int8,
        environment -> Text,
        event -> Text,
        case_id -> Nullable<Uuid>,
        payload -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(api_keys -> organizations (org_id));
diesel::joinable!(environment_settings -> organizations (org_id));
diesel::joinable!(org_users -> organizations (org_id));
diesel::joinable!(sessions -> organizations (org_id));
diesel::joinable!(webhook_endpoints -> organizations (org_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    blocklist_entries,
    capture_links,
    case_events,
    case_tallies,
    case_tally_deltas,
    cases,
    console_sessions,
    environment_settings,
    idempotency_keys,
    invitations,
    mcp_sessions,
    notes,
    org_users,
    organizations,
    rate_limit_windows,
    sessions,
    sign_in_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_outbox,
);
