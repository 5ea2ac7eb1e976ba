//! The tables as diesel sees them, written by hand so that only the SQL types both backends share
//! through `MultiConnection` appear: TEXT (ids as UUID strings, JSON), TIMESTAMP (naive UTC),
//! BIGINT, INTEGER and BINARY. The migrations in `migrations/{sqlite,postgres}` must agree.

diesel::table! {
    teams (id) {
        id -> Text,
        label -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    principals (id) {
        id -> Text,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    memberships (team_id, principal_id) {
        team_id -> Text,
        principal_id -> Text,
        role -> Text,
    }
}

diesel::table! {
    service_accounts (id) {
        id -> Text,
        team_id -> Text,
        principal_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        role -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    client_credentials (id) {
        id -> Text,
        service_account_id -> Text,
        client_id -> Text,
        secret_hash -> Text,
        name -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_tokens (token_hash) {
        token_hash -> Text,
        principal_id -> Text,
        client_credential_id -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    credentials (id) {
        id -> Text,
        team_id -> Text,
        provider -> Text,
        kind -> Text,
        name -> Text,
        description -> Nullable<Text>,
        account_name -> Nullable<Text>,
        status -> Text,
        extra_data -> Text,
        metadata -> Text,
        secret_fields -> Text,
        secret_key_id -> Nullable<Text>,
        secret_ciphertext -> Nullable<Binary>,
        health_status -> Text,
        health_notes -> Text,
        health_checked_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Text,
        modified_by -> Text,
        /// The last use of its secrets: both set, or both NULL; written only by a use.
        last_used_at -> Nullable<Timestamp>,
        last_used_by -> Nullable<Text>,
        /// When the upkeep worker next looks at it (NULL: nothing scheduled); a client's write of
        /// an OAuth credential, or of one with a health-check interval, sets it to the write's
        /// instant.
        upkeep_due_at -> Nullable<Timestamp>,
        /// Failed refreshes in a row; a client's write sets 0.
        upkeep_failures -> Integer,
        /// A claim on its refresh: both set, or both NULL; written only by `store::upkeep`.
        upkeep_lease_until -> Nullable<Timestamp>,
        upkeep_lease_holder -> Nullable<Text>,
        /// The last successful refresh; written only by `store::upkeep`.
        token_refreshed_at -> Nullable<Timestamp>,
        /// How often the worker runs its connection test, in seconds; NULL for never.
        health_check_interval_seconds -> Nullable<Integer>,
        /// The OAuth app it is issued through (`oauth_apps.id`, same team); NULL for none.
        oauth_app_id -> Nullable<Text>,
    }
}

diesel::table! {
    audit_events (id) {
        /// Assigned by the database on insert: the order of the trail (never written by us).
        seq -> BigInt,
        id -> Text,
        team_id -> Text,
        credential_id -> Text,
        action -> Text,
        actor_id -> Text,
        actor_kind -> Text,
        changed_fields -> Text,
        secrets -> Text,
        request_id -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (principal_id, key) {
        principal_id -> Text,
        key -> Text,
        fingerprint -> Text,
        fingerprint_key_id -> Text,
        claim -> Text,
        state -> Text,
        status -> Nullable<Integer>,
        headers -> Nullable<Text>,
        body -> Nullable<Binary>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    user_tokens (principal_id) {
        principal_id -> Text,
        team_id -> Text,
        name -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use_grants (id) {
        id -> Text,
        team_id -> Text,
        credential_id -> Text,
        service_account_id -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    oauth_apps (id) {
        id -> Text,
        team_id -> Text,
        name -> Text,
        provider -> Text,
        client_id -> Text,
        secret_key_id -> Text,
        secret_ciphertext -> Binary,
        token_url -> Text,
        authorize_url -> Text,
        /// JSON array of strings.
        scopes -> Text,
        /// JSON object.
        metadata -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    console_sessions (id_hash) {
        id_hash -> Text,
        team_id -> Text,
        principal_id -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        csrf_secret -> Text,
    }
}

diesel::table! {
    oauth_connect_states (state_hash) {
        state_hash -> Text,
        team_id -> Text,
        credential_id -> Text,
        principal_id -> Text,
        verifier_key_id -> Text,
        verifier_ciphertext -> Binary,
        redirect_uri -> Text,
        return_to -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    teams,
    principals,
    memberships,
    service_accounts,
    client_credentials,
    api_tokens,
    credentials,
    audit_events,
    idempotency_keys,
    user_tokens,
    use_grants,
    oauth_apps,
    console_sessions,
    oauth_connect_states,
);
