//! Table definitions shared by both backends (kept to portable SQL types).

diesel::table! {
    enterprises (id) {
        id -> BigInt,
        credit_code -> Text,
        name -> Text,
        industry_code -> Text,
        region_code -> Text,
        size -> Text,
        contact_email -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        enterprise_id -> Nullable<BigInt>,
        region_scope -> Nullable<Text>,
        industry_scopes -> Nullable<Text>,
        display_name -> Nullable<Text>,
        disabled -> Bool,
        created_at -> Timestamp,
        password_changed_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        family_id -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_throttle (key) {
        key -> Text,
        failures -> Integer,
        window_start -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        actor_user_id -> Nullable<BigInt>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        enterprise_id -> Nullable<BigInt>,
        request_id -> Nullable<Text>,
        details -> Text,
    }
}

diesel::joinable!(users -> enterprises (enterprise_id));
diesel::joinable!(refresh_tokens -> users (user_id));

diesel::table! {
    schema_versions (id) {
        id -> BigInt,
        schema_id -> Text,
        version -> Text,
        status -> Text,
        content_hash -> Text,
        document -> Text,
        effective_date -> Text,
        predecessor -> Nullable<Text>,
        source -> Text,
        created_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    enterprises,
    users,
    refresh_tokens,
    login_throttle,
    audit_log,
    schema_versions
);
