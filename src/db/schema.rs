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
        verified_at -> Nullable<Timestamp>,
        verified_by -> Nullable<BigInt>,
        licence_evidence_id -> Nullable<BigInt>,
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
    console_sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        csrf_token -> Text,
        client -> Text,
        user_agent -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(console_sessions -> users (user_id));

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
        seq -> Nullable<BigInt>,
        details_digest -> Nullable<Text>,
        prev_hash -> Nullable<Text>,
        hash -> Nullable<Text>,
    }
}

diesel::table! {
    audit_checkpoints (id) {
        id -> BigInt,
        entries -> BigInt,
        head_hash -> Text,
        created_at -> Timestamp,
        kid -> Text,
        signature -> Text,
    }
}

diesel::table! {
    evidence_blobs (sha256) {
        sha256 -> Text,
        content -> Binary,
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

diesel::table! {
    submissions (id) {
        id -> BigInt,
        enterprise_id -> BigInt,
        schema_id -> Text,
        version -> Text,
        schema_hash -> Text,
        industry_code -> Text,
        profile_id -> Nullable<Text>,
        status -> Text,
        revision -> BigInt,
        created_by -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
        score_total -> Nullable<Double>,
        score_level -> Nullable<Text>,
    }
}

diesel::table! {
    idempotent_requests (user_id, operation, key) {
        user_id -> BigInt,
        operation -> Text,
        key -> Text,
        request_hash -> Text,
        status -> Integer,
        body -> Text,
        etag -> Nullable<Text>,
        location -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    answers (id) {
        id -> BigInt,
        submission_id -> BigInt,
        criterion_id -> Text,
        value -> Text,
        not_applicable_reason -> Nullable<Text>,
        comment -> Nullable<Text>,
        updated_by -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    answer_history (id) {
        id -> BigInt,
        submission_id -> BigInt,
        criterion_id -> Text,
        change -> Text,
        value -> Nullable<Text>,
        not_applicable_reason -> Nullable<Text>,
        comment -> Nullable<Text>,
        schema_version -> Text,
        changed_by -> BigInt,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    evidence (id) {
        id -> BigInt,
        enterprise_id -> BigInt,
        submission_id -> BigInt,
        sha256 -> Text,
        content_type -> Text,
        filename -> Text,
        size_bytes -> BigInt,
        created_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    evidence_links (evidence_id, criterion_id) {
        evidence_id -> BigInt,
        criterion_id -> Text,
    }
}

diesel::joinable!(answers -> submissions (submission_id));
diesel::joinable!(evidence_links -> evidence (evidence_id));

diesel::table! {
    reviews (id) {
        id -> BigInt,
        submission_id -> BigInt,
        reviewer_id -> BigInt,
        claimed_at -> Timestamp,
        first_approver_id -> Nullable<BigInt>,
        first_approved_at -> Nullable<Timestamp>,
        decision -> Nullable<Text>,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        comment -> Nullable<Text>,
        reviewed_total -> Nullable<Double>,
        reviewed_level -> Nullable<Text>,
    }
}

diesel::table! {
    verdicts (review_id, criterion_id) {
        review_id -> BigInt,
        criterion_id -> Text,
        verdict -> Text,
        fraction -> Nullable<Double>,
        reason -> Nullable<Text>,
        comment -> Nullable<Text>,
        reviewer_id -> BigInt,
        decided_at -> Timestamp,
        request -> Nullable<Text>,
        requested_at -> Nullable<Timestamp>,
        answer -> Nullable<Text>,
        answered_by -> Nullable<BigInt>,
        answered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    certificates (id) {
        id -> BigInt,
        number -> Text,
        enterprise_id -> BigInt,
        submission_id -> BigInt,
        level -> Text,
        schema_id -> Text,
        version -> Text,
        schema_hash -> Text,
        score -> Double,
        issued_on -> Text,
        expires_on -> Text,
        status -> Text,
        payload -> Text,
        signature -> Text,
        kid -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    certificate_events (id) {
        id -> BigInt,
        certificate_id -> BigInt,
        action -> Text,
        reason -> Nullable<Text>,
        actor_id -> Nullable<BigInt>,
        at -> Timestamp,
    }
}

diesel::joinable!(submissions -> enterprises (enterprise_id));
diesel::joinable!(certificates -> enterprises (enterprise_id));

diesel::table! {
    stat_populations (industry, region) {
        industry -> Text,
        region -> Text,
        population -> BigInt,
        uploaded_by -> BigInt,
        uploaded_at -> Timestamp,
    }
}

diesel::table! {
    submission_theme_scores (submission_id, theme_id) {
        submission_id -> BigInt,
        theme_id -> Text,
        score -> Double,
    }
}

diesel::table! {
    submission_criterion_results (submission_id, criterion_id) {
        submission_id -> BigInt,
        criterion_id -> Text,
        fraction -> Double,
    }
}

diesel::table! {
    latest_self_assessments (enterprise_id) {
        enterprise_id -> BigInt,
        submission_id -> BigInt,
        industry_code -> Text,
        region_code -> Text,
        score_total -> Nullable<Double>,
    }
}

diesel::table! {
    latest_theme_scores (industry_code, enterprise_id, theme_id) {
        industry_code -> Text,
        enterprise_id -> BigInt,
        theme_id -> Text,
        region_code -> Text,
        score -> Double,
    }
}

diesel::table! {
    latest_criterion_counts (industry_code, region_code, criterion_id) {
        industry_code -> Text,
        region_code -> Text,
        criterion_id -> Text,
        enterprises -> BigInt,
        passed -> BigInt,
    }
}

diesel::table! {
    latest_score_counts (industry_code, theme_id, score) {
        industry_code -> Text,
        theme_id -> Text,
        score -> Double,
        enterprises -> BigInt,
    }
}

diesel::table! {
    self_assessment_quarters (industry_code, enterprise_id, quarter) {
        industry_code -> Text,
        enterprise_id -> BigInt,
        quarter -> Text,
        region_code -> Text,
        submissions -> BigInt,
        scored -> BigInt,
        score_sum -> Double,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> BigInt,
        owner_id -> BigInt,
        enterprise_id -> Nullable<BigInt>,
        url -> Text,
        description -> Nullable<Text>,
        event_types -> Text,
        secret -> Text,
        created_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
        disabled_reason -> Nullable<Text>,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_events (id) {
        id -> BigInt,
        message_id -> Text,
        event_type -> Text,
        enterprise_id -> BigInt,
        industry_code -> Text,
        payload -> Text,
        dedupe_key -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        event_id -> BigInt,
        endpoint_id -> BigInt,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        leased_until -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        last_attempt_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(webhook_deliveries -> webhook_events (event_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));

diesel::table! {
    liaison_units (enterprise_id) {
        enterprise_id -> BigInt,
        status -> Text,
        contact_name -> Text,
        contact_phone -> Text,
        contact_email -> Text,
        hours -> Text,
        acknowledge_days -> Integer,
        proposal_days -> Integer,
        requested_by -> BigInt,
        requested_at -> Timestamp,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    complaint_incidents (id) {
        id -> BigInt,
        enterprise_id -> BigInt,
        category -> Text,
        state -> Text,
        opened_at -> Timestamp,
        remediation -> Nullable<Text>,
        remediation_at -> Nullable<Timestamp>,
        closed_by -> Nullable<BigInt>,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    complaints (id) {
        id -> BigInt,
        reference -> Text,
        enterprise_id -> BigInt,
        industry_code -> Text,
        region_code -> Text,
        category -> Text,
        channel -> Text,
        amount_fen -> Nullable<BigInt>,
        received_on -> Date,
        state -> Text,
        outcome -> Nullable<Text>,
        acknowledge_due -> Date,
        acknowledged_on -> Nullable<Date>,
        proposal_due -> Nullable<Date>,
        closed_on -> Nullable<Date>,
        incident_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    complaint_cases (complaint_id) {
        complaint_id -> BigInt,
        personal -> Nullable<Text>,
        proposal -> Nullable<Text>,
        proposed_on -> Nullable<Date>,
        rejection_reason -> Nullable<Text>,
        reopen_until -> Nullable<Date>,
        reopened -> Integer,
        reminded_stage -> Nullable<Text>,
        escalated_stage -> Nullable<Text>,
        escalated_at -> Nullable<Timestamp>,
        recorded_by -> BigInt,
        officer_id -> Nullable<BigInt>,
        external_ref -> Nullable<Text>,
        erased_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(complaint_cases -> complaints (complaint_id));
diesel::joinable!(complaints -> enterprises (enterprise_id));
diesel::joinable!(complaints -> complaint_incidents (incident_id));
diesel::joinable!(liaison_units -> enterprises (enterprise_id));

diesel::table! {
    surveillance_reviews (id) {
        id -> BigInt,
        certificate_id -> BigInt,
        enterprise_id -> BigInt,
        state -> Text,
        triggers -> Text,
        opened_at -> Timestamp,
        outcome -> Nullable<Text>,
        reason -> Nullable<Text>,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    renewals (certificate_id) {
        certificate_id -> BigInt,
        submission_id -> BigInt,
        complaint_figures -> Text,
        opened_at -> Timestamp,
    }
}

diesel::joinable!(surveillance_reviews -> certificates (certificate_id));

diesel::table! {
    complaint_terms (complaint_id) {
        complaint_id -> BigInt,
        acknowledge_days -> Integer,
        proposal_days -> Integer,
    }
}

diesel::table! {
    complaint_months (industry_code, month, region_code) {
        industry_code -> Text,
        region_code -> Text,
        month -> Date,
        received -> BigInt,
        acknowledged -> BigInt,
        on_time -> BigInt,
        answered -> BigInt,
        reconciled -> BigInt,
        closed -> BigInt,
        close_days -> BigInt,
    }
}

diesel::table! {
    complaint_firm_months (industry_code, month, region_code, enterprise_id) {
        industry_code -> Text,
        month -> Date,
        region_code -> Text,
        enterprise_id -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    enterprises,
    users,
    refresh_tokens,
    login_throttle,
    audit_log,
    audit_checkpoints,
    schema_versions,
    submissions,
    idempotent_requests,
    console_sessions,
    answers,
    answer_history,
    evidence,
    evidence_links,
    reviews,
    verdicts,
    certificates,
    certificate_events,
    stat_populations,
    submission_theme_scores,
    submission_criterion_results,
    latest_self_assessments,
    latest_theme_scores,
    latest_criterion_counts,
    latest_score_counts,
    self_assessment_quarters,
    webhook_endpoints,
    webhook_events,
    webhook_deliveries,
    liaison_units,
    complaint_incidents,
    complaints,
    complaint_cases,
    surveillance_reviews,
    renewals,
    complaint_terms,
    complaint_months,
    complaint_firm_months
);
