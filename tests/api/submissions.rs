//! Submissions end to end: answers, evidence, completeness, scoring, submission, idempotency,
//! preconditions, tenant isolation and upgrades.

use actix_web::http::Method;
use serde_json::{Map, Value, json};

use crate::helpers::{
    Backend, PASSWORD, PNG_BYTES, TestApp, assert_invisible, best_answer, pdf_bytes, spawn_app,
    spawn_app_with, unique_email,
};

backend_tests!(
    the_whole_enterprise_flow,
    answers_are_checked_against_their_criterion,
    writes_need_the_current_etag,
    a_save_on_the_last_saved_etag_checks_the_submission_again,
    evidence_writes_return_the_new_etag,
    answers_link_evidence_all_or_nothing,
    a_save_links_hundreds_of_pairs_each_once,
    a_save_linking_evidence_races_its_deletion,
    saves_racing_on_one_etag_write_once,
    a_retried_upload_stores_one_file,
    a_draft_can_be_discarded,
    a_discarded_drafts_id_is_never_given_again,
    creation_is_idempotent,
    idempotent_creation_under_parallel_requests,
    submit_refuses_incomplete_and_only_admins_submit,
    other_enterprises_see_nothing,
    upgrade_from_2014_to_2024,
    evidence_types_sizes_and_quota,
    lists_under_a_submission_or_enterprise_are_paged,
);

/// Best answers for every criterion, and the criteria needing evidence.
fn best_answers(criteria: &[Value]) -> (Map<String, Value>, Vec<String>) {
    let mut answers = Map::new();
    let mut needs_evidence = Vec::new();
    for c in criteria {
        let id = c["id"].as_str().unwrap().to_owned();
        if c["evidence"]["required"] == true {
            needs_evidence.push(id.clone());
        }
        answers.insert(id, best_answer(c));
    }
    (answers, needs_evidence)
}

async fn the_whole_enterprise_flow(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let mut d = app.create_submission(&e.token, "2024").await;
    let created = app.get(&d.path, Some(&e.token)).await.json();
    assert_eq!(created["status"], "draft");
    assert_eq!(created["profile_id"], "food");
    let hash = &app
        .get(
            "/api/v1/schemas/cca-good-enterprise/versions",
            Some(&e.token),
        )
        .await
        .json()[2]["content_hash"];
    assert_eq!(&created["schema_hash"], hash);

    let criteria = app.criteria_of(&e.token, "C1491", "2024").await;
    assert_eq!(
        created["missing"].as_array().unwrap().len(),
        criteria.iter().filter(|c| c["kind"] != "free_text").count()
    );
    let (answers, needs_evidence) = best_answers(&criteria);

    // Half one at a time, as a form autosaves, the rest in one request.
    let (first, rest): (Vec<_>, Vec<_>) = answers
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    for (_, (id, answer)) in first {
        let res = app
            .send_if_match(
                Method::PUT,
                &format!("{}/answers/{id}", d.path),
                &e.token,
                &d.etag,
                Some(&answer),
            )
            .await;
        assert_eq!(res.status, 200, "{id}: {}", res.text());
        let tag = res.header("etag").unwrap();
        assert_ne!(tag, d.etag);
        d.etag = tag;
    }
    app.answer_all(
        &e.token,
        &mut d,
        rest.into_iter().map(|(_, kv)| kv).collect(),
    )
    .await;

    // Without evidence, the evidence-required criteria score nothing and block submission.
    let view = app.get(&d.path, Some(&e.token)).await.json();
    assert!(
        view["missing"].as_array().unwrap().is_empty(),
        "{}",
        view["missing"]
    );
    assert_eq!(
        view["lacking_evidence"].as_array().unwrap().len(),
        needs_evidence.len()
    );
    assert!(view["score"]["total"].as_f64().unwrap() < 100.0);

    // One PDF supports every such criterion.
    let res = app
        .upload(
            &e.token,
            &d,
            "制度汇编.pdf",
            "application/pdf",
            &pdf_bytes("policies"),
            &needs_evidence.join(","),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let evidence_id = res.json()["id"].as_i64().unwrap();
    let download = app
        .get(
            &format!("{}/evidence/{evidence_id}", d.path),
            Some(&e.token),
        )
        .await;
    assert_eq!(download.status, 200);
    assert_eq!(download.body, pdf_bytes("policies"));
    assert_eq!(
        download.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert!(
        download
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(
        download.header("content-type").as_deref(),
        Some("application/pdf")
    );

    let view = app.get(&d.path, Some(&e.token)).await;
    d.etag = view.header("etag").unwrap();
    let view = view.json();
    assert_eq!(view["complete"], true, "{}", view["lacking_evidence"]);
    assert_eq!(view["score"]["total"], 100.0);
    assert_eq!(view["score"]["level"], "exemplary");
    assert_eq!(view["score"]["red_line_failed"], false);
    let explanation = view["score"]["explanation"].as_array().unwrap();
    assert_eq!(explanation.len(), criteria.len());
    let compliance = explanation
        .iter()
        .find(|x| x["id"] == "lawful.compliance_system")
        .unwrap();
    assert_eq!(compliance["rule"], "maturity_level");
    assert_eq!(compliance["detail"], "level 4 of 4");
    assert_eq!(view["score"]["themes"].as_array().unwrap().len(), 10);

    let res = app
        .send_if_match(
            Method::POST,
            &format!("{}/submit", d.path),
            &e.token,
            &d.etag,
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["status"], "submitted");
    let etag = res.header("etag").unwrap();

    // Submitted: answers and evidence are frozen.
    let res = app
        .send_if_match(
            Method::PUT,
            &format!("{}/answers/lawful.no_unfair_conditions", d.path),
            &e.token,
            &etag,
            Some(&json!({ "value": false })),
        )
        .await;
    res.problem(409, "not_editable");
    app.request(
        Method::DELETE,
        &format!("{}/evidence/{evidence_id}", d.path),
        Some(&e.token),
        None,
        &[],
    )
    .await
    .problem(409, "not_editable");
    let listed = app.get("/api/v1/submissions", Some(&e.token)).await.json();
    assert_eq!(listed["items"][0]["score_total"], 100.0);
    assert_eq!(listed["items"][0]["score_level"], "exemplary");
    // The audit log holds every step.
    let entries = app.audit_of_submission(d.id).await;
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.first(), Some(&"submission.created"));
    assert!(actions.contains(&"evidence.uploaded"));
    assert_eq!(actions.last(), Some(&"submission.submitted"));
}

async fn answers_are_checked_against_their_criterion(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let d = app.create_submission(&e.token, "2024").await;
    let cases = [
        ("lawful.no_unfair_conditions", json!({ "value": "yes" })),
        ("lawful.compliance_system", json!({ "value": 7 })),
        (
            "disputes.complaint_channel",
            json!({ "value": "carrier_pigeon" }),
        ),
        (
            "fair_trade.prepaid_rules",
            json!({ "value": ["written_contract", "nope"] }),
        ),
        ("disputes.response_time", json!({ "value": "fast" })),
        (
            "lawful.no_fraud_penalty",
            json!({ "value": null, "not_applicable_reason": "n/a" }),
        ),
        ("safety.venue_safety", json!({ "value": null })),
        (
            "safety.venue_safety",
            json!({ "value": true, "not_applicable_reason": "why" }),
        ),
        ("no.such_criterion", json!({ "value": true })),
        ("housing.presale_disclosure", json!({ "value": 3 })),
    ];
    for (criterion, body) in &cases {
        let res = app
            .send_if_match(
                Method::PUT,
                &format!("{}/answers/{criterion}", d.path),
                &e.token,
                &d.etag,
                Some(body),
            )
            .await;
        assert_eq!(res.invalid_fields(), [*criterion], "{criterion} {body}");
    }
    // Unknown fields in an answer are named too.
    let res = app
        .send_if_match(
            Method::PUT,
            &format!("{}/answers/lawful.no_unfair_conditions", d.path),
            &e.token,
            &d.etag,
            Some(&json!({ "value": true, "colour": 1 })),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["colour"]);
    // Bulk: every bad answer is named and nothing is saved.
    let res = app
        .send_if_match(
            Method::PATCH,
            &format!("{}/answers", d.path),
            &e.token,
            &d.etag,
            Some(&json!({ "answers": {
                "lawful.no_unfair_conditions": { "value": true },
                "lawful.compliance_system": { "value": "high" },
                "safety.venue_safety": { "value": null },
            }})),
        )
        .await;
    assert_eq!(
        res.invalid_fields(),
        ["lawful.compliance_system", "safety.venue_safety"]
    );
    let view = app.get(&d.path, Some(&e.token)).await;
    assert!(view.json()["answers"].as_object().unwrap().is_empty());
    assert_eq!(view.header("etag").unwrap(), d.etag);
    // N/A with a reason where allowed is fine, and spreads the weight in the theme.
    let res = app
        .send_if_match(
            Method::PUT,
            &format!("{}/answers/safety.venue_safety", d.path),
            &e.token,
            &d.etag,
            Some(&json!({ "value": null, "not_applicable_reason": "网店，没有对外营业场所" })),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let saved = res.json();
    assert_eq!(saved["criteria"], json!(["safety.venue_safety"]), "{saved}");
    assert_eq!(saved["revision"], 2, "{saved}");
    let view = app.get(&d.path, Some(&e.token)).await.json();
    let venue = view["score"]["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "safety.venue_safety")
        .unwrap()
        .clone();
    assert_eq!(venue["rule"], "not_applicable");
    assert_eq!(venue["effective_weight"], 0.0);
}

async fn writes_need_the_current_etag(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let d = app.create_submission(&e.token, "2024").await;
    let path = format!("{}/answers/lawful.no_unfair_conditions", d.path);
    let body = serde_json::to_vec(&json!({ "value": true })).unwrap();
    app.request(
        Method::PUT,
        &path,
        Some(&e.token),
        Some(("application/json", body.clone())),
        &[],
    )
    .await
    .problem(428, "precondition_required");
    app.request(
        Method::PUT,
        &path,
        Some(&e.token),
        Some(("application/json", body.clone())),
        &[("if-match", "\"1-999\"")],
    )
    .await
    .problem(412, "precondition_failed");
    // A value that is not an entity tag is malformed, not stale.
    for malformed in ["4-1", "\"4-1", "\"4 1\""] {
        app.request(
            Method::PUT,
            &path,
            Some(&e.token),
            Some(("application/json", body.clone())),
            &[("if-match", malformed)],
        )
        .await
        .problem(400, "malformed_request");
    }
    let weak = format!("W/{}", d.etag);
    app.request(
        Method::PUT,
        &path,
        Some(&e.token),
        Some(("application/json", body.clone())),
        &[("if-match", &weak)],
    )
    .await
    .problem(412, "precondition_failed");
    // Two editors start from the same ETag: the first wins, the second is told.
    let member = app.member_token(&e).await;
    let first = app
        .send_if_match(
            Method::PUT,
            &path,
            &member,
            &d.etag,
            Some(&json!({ "value": true })),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text());
    let second = app
        .send_if_match(
            Method::PUT,
            &path,
            &e.token,
            &d.etag,
            Some(&json!({ "value": false })),
        )
        .await;
    second.problem(412, "precondition_failed");
    let view = app.get(&d.path, Some(&e.token)).await.json();
    assert_eq!(
        view["answers"]["lawful.no_unfair_conditions"]["value"],
        true
    );
    // Other writes need it too.
    for (method, suffix) in [
        (Method::POST, "/submit"),
        (Method::POST, "/withdraw"),
        (Method::POST, "/upgrade?to=2024"),
        (Method::DELETE, "/answers/lawful.no_unfair_conditions"),
    ] {
        app.request(
            method,
            &format!("{}{suffix}", d.path),
            Some(&e.token),
            None,
            &[],
        )
        .await
        .problem(428, "precondition_required");
    }
}

/// The enterprise's administrator discards a draft with its ETag: it is gone with its answers
/// and evidence, and the audit log says so; members, stale ETags, outsiders and anything once
/// submitted are refused.
async fn a_draft_can_be_discarded(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let mut d = app.create_submission(&e.token, "2024").await;
    let saved = app
        .send_if_match(
            Method::PUT,
            &format!("{}/answers/lawful.no_unfair_conditions", d.path),
            &e.token,
            &d.etag,
            Some(&json!({ "value": true })),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text());
    let uploaded = app
        .upload(
            &e.token,
            &d,
            "policy.pdf",
            "application/pdf",
            &pdf_bytes("discard"),
            "lawful.no_unfair_conditions",
        )
        .await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.text());
    let evidence = uploaded.json()["id"].as_i64().unwrap();
    let stale = d.etag.clone();
    d.etag = uploaded.header("etag").unwrap();

    let member = app.member_token(&e).await;
    app.send_if_match(Method::DELETE, &d.path, &member, &d.etag, None)
        .await
        .problem(403, "forbidden");
    let outsider = app.enterprise().await;
    app.send_if_match(Method::DELETE, &d.path, &outsider.token, &d.etag, None)
        .await
        .problem(404, "not_found");
    app.request(Method::DELETE, &d.path, Some(&e.token), None, &[])
        .await
        .problem(428, "precondition_required");
    app.send_if_match(Method::DELETE, &d.path, &e.token, &stale, None)
        .await
        .problem(412, "precondition_failed");

    let gone = app
        .send_if_match(Method::DELETE, &d.path, &e.token, &d.etag, None)
        .await;
    assert_eq!(gone.status, 204, "{}", gone.text());
    app.get(&d.path, Some(&e.token))
        .await
        .problem(404, "not_found");
    app.get(&format!("{}/evidence/{evidence}", d.path), Some(&e.token))
        .await
        .problem(404, "not_found");
    let listed = app.get("/api/v1/submissions", Some(&e.token)).await.json();
    assert_eq!(listed["items"], json!([]));
    let discarded = app.audit_of_submission(d.id).await;
    assert!(
        discarded.iter().any(|a| a.action == "submission.discarded"),
        "{discarded:?}"
    );

    // Once submitted, a submission keeps its record.
    let id = crate::helpers::submitted(&app, &e, "C1491", 2).await;
    let path = format!("/api/v1/submissions/{id}");
    let etag = app.get(&path, Some(&e.token)).await.header("etag").unwrap();
    app.send_if_match(Method::DELETE, &path, &e.token, &etag, None)
        .await
        .problem(409, "invalid_transition");
}

/// An upload retried with its `Idempotency-Key` — one after the other or eight at once — is
/// answered with the first response and stores one file; the key with another file is refused.
async fn a_retried_upload_stores_one_file(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let d = app.create_submission(&e.token, "2024").await;
    let send = |key: &'static str, text: &'static str| {
        let (ct, body) = crate::helpers::multipart(
            "policy.pdf",
            "application/pdf",
            &pdf_bytes(text),
            "lawful.no_unfair_conditions",
        );
        let (app, path, token) = (&app, format!("{}/evidence", d.path), e.token.clone());
        async move {
            app.request(
                Method::POST,
                &path,
                Some(&token),
                Some((ct.as_str(), body)),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let first = send("upload-1", "one").await;
    assert_eq!(first.status, 201, "{}", first.text());
    assert!(first.header("idempotent-replayed").is_none());
    let again = send("upload-1", "one").await;
    assert_eq!(again.status, 201, "{}", again.text());
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.json(), first.json());
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(again.header("location"), first.header("location"));
    send("upload-1", "another file")
        .await
        .problem(422, "idempotency_key_reused");
    // Eight at once with a fresh key: one file, one answer.
    let all = futures_util::future::join_all((0..8).map(|_| send("upload-2", "two"))).await;
    let ids: std::collections::BTreeSet<i64> = all
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.text());
            r.json()["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let listed = app
        .get(&format!("{}/evidence", d.path), Some(&e.token))
        .await
        .json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
}

async fn evidence_writes_return_the_new_etag(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let mut d = app.create_submission(&e.token, "2024").await;
    let before = d.etag.clone();
    let uploaded = app
        .upload(
            &e.token,
            &d,
            "policy.pdf",
            "application/pdf",
            &pdf_bytes("policy"),
            "lawful.no_unfair_conditions",
        )
        .await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.text());
    d.etag = uploaded.header("etag").expect("upload returns the ETag");
    assert_ne!(d.etag, before);
    // The returned ETag is the current one: the next write goes through with it.
    let path = format!("{}/answers/lawful.no_unfair_conditions", d.path);
    let saved = app
        .send_if_match(
            Method::PUT,
            &path,
            &e.token,
            &d.etag,
            Some(&json!({ "value": true })),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text());
    d.etag = saved.header("etag").expect("etag");
    let evidence = uploaded.json()["id"].as_i64().unwrap();
    let deleted = app
        .request(
            Method::DELETE,
            &format!("{}/evidence/{evidence}", d.path),
            Some(&e.token),
            None,
            &[],
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    let after_delete = deleted.header("etag").expect("delete returns the ETag");
    assert_ne!(after_delete, d.etag);
    assert_eq!(
        app.get(&d.path, Some(&e.token))
            .await
            .header("etag")
            .as_deref(),
        Some(after_delete.as_str())
    );
}

async fn creation_is_idempotent(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let body =
        serde_json::to_vec(&json!({ "schema_id": "cca-good-enterprise", "version": "2024" }))
            .unwrap();
    let send = |key: &'static str, body: Vec<u8>| {
        let token = e.token.clone();
        let app = &app;
        async move {
            app.request(
                Method::POST,
                "/api/v1/submissions",
                Some(&token),
                Some(("application/json", body)),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let first = send("order-1", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text());
    let again = send("order-1", body.clone()).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("etag"), first.header("etag"));
    let other =
        serde_json::to_vec(&json!({ "schema_id": "cca-good-enterprise", "version": "2014" }))
            .unwrap();
    send("order-1", other)
        .await
        .problem(422, "idempotency_key_reused");
    let list = app.get("/api/v1/submissions", Some(&e.token)).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // Keys belong to one enterprise: another may use the same key.
    let f = app.enterprise().await;
    let theirs = app
        .request(
            Method::POST,
            "/api/v1/submissions",
            Some(&f.token),
            Some(("application/json", body)),
            &[("idempotency-key", "order-1")],
        )
        .await;
    assert_eq!(theirs.status, 201);
    assert_ne!(theirs.json()["id"], first.json()["id"]);
    // Unknown and retired versions are named.
    let res = app
        .post(
            "/api/v1/submissions",
            Some(&e.token),
            &json!({ "schema_id": "cca-good-enterprise", "version": "1999" }),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["version"]);
}

async fn idempotent_creation_under_parallel_requests(b: Backend) {
    let app = spawn_app_with(b, |s| s.workers = Some(4)).await;
    let e = app.enterprise().await;
    let body =
        serde_json::to_vec(&json!({ "schema_id": "cca-good-enterprise", "version": "2024" }))
            .unwrap();
    let requests = (0..20).map(|_| {
        app.request(
            Method::POST,
            "/api/v1/submissions",
            Some(&e.token),
            Some(("application/json", body.clone())),
            &[("idempotency-key", "same-key")],
        )
    });
    let responses = futures_util::future::join_all(requests).await;
    let ids: std::collections::BTreeSet<i64> = responses
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.text());
            r.json()["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let list = app.get("/api/v1/submissions", Some(&e.token)).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

async fn submit_refuses_incomplete_and_only_admins_submit(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let mut d = app.create_submission(&e.token, "2024").await;
    app.answer_all(
        &e.token,
        &mut d,
        [(
            "lawful.no_unfair_conditions".to_owned(),
            json!({ "value": true }),
        )]
        .into_iter()
        .collect(),
    )
    .await;
    let res = app
        .send_if_match(
            Method::POST,
            &format!("{}/submit", d.path),
            &e.token,
            &d.etag,
            None,
        )
        .await;
    let p = res.problem(422, "submission_incomplete");
    let named: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(named.contains(&"lawful.compliance_system"));
    assert!(!named.contains(&"lawful.no_unfair_conditions"));
    // Still a draft, still the same revision.
    let view = app.get(&d.path, Some(&e.token)).await;
    assert_eq!(view.json()["status"], "draft");
    assert_eq!(view.header("etag").unwrap(), d.etag);

    // Complete it; a member may edit but not submit.
    let criteria = app.criteria_of(&e.token, "C1491", "2024").await;
    let (answers, needs) = best_answers(&criteria);
    app.answer_all(&e.token, &mut d, answers).await;
    let res = app
        .upload(
            &e.token,
            &d,
            "proof.png",
            "image/png",
            PNG_BYTES,
            &needs.join(","),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    app.etag_of(&e.token, &mut d).await;
    let email = unique_email("m");
    app.post(
        &format!("/api/v1/enterprises/{}/users", e.id),
        Some(&e.token),
        &json!({ "email": email, "password": PASSWORD }),
    )
    .await;
    let member = app.token(&email, PASSWORD).await;
    app.send_if_match(
        Method::POST,
        &format!("{}/submit", d.path),
        &member,
        &d.etag,
        None,
    )
    .await
    .problem(403, "forbidden");
    // Withdrawing a draft is not a thing.
    app.send_if_match(
        Method::POST,
        &format!("{}/withdraw", d.path),
        &e.token,
        &d.etag,
        None,
    )
    .await
    .problem(409, "invalid_transition");
    let res = app
        .send_if_match(
            Method::POST,
            &format!("{}/submit", d.path),
            &e.token,
            &d.etag,
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let etag = res.header("etag").unwrap();
    app.send_if_match(
        Method::POST,
        &format!("{}/submit", d.path),
        &e.token,
        &etag,
        None,
    )
    .await
    .problem(409, "invalid_transition");
    let res = app
        .send_if_match(
            Method::POST,
            &format!("{}/withdraw", d.path),
            &e.token,
            &etag,
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["status"], "withdrawn");
}

async fn other_enterprises_see_nothing(b: Backend) {
    let app = spawn_app(b).await;
    let a = app.enterprise().await;
    let other = app.enterprise().await;
    let mut d = app.create_submission(&a.token, "2024").await;
    app.answer_all(
        &a.token,
        &mut d,
        [(
            "lawful.no_unfair_conditions".to_owned(),
            json!({ "value": true }),
        )]
        .into_iter()
        .collect(),
    )
    .await;
    let res = app
        .upload(
            &a.token,
            &d,
            "a.pdf",
            "application/pdf",
            &pdf_bytes("a"),
            "lawful.compliance_system",
        )
        .await;
    let eid = res.json()["id"].as_i64().unwrap();
    let missing = "/api/v1/submissions/99999999";
    for suffix in ["", "/history", "/evidence", &format!("/evidence/{eid}")] {
        assert_invisible(
            &app,
            &other.token,
            Method::GET,
            &format!("{}{suffix}", d.path),
            &format!("{missing}{suffix}"),
        )
        .await;
    }
    // Writes: the same 404 as for a missing submission, whatever the If-Match.
    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::PUT,
            "/answers/lawful.no_unfair_conditions".into(),
            Some(json!({ "value": false })),
        ),
        (
            Method::PATCH,
            "/answers".into(),
            Some(json!({ "answers": { "lawful.no_unfair_conditions": { "value": false } } })),
        ),
        (
            Method::DELETE,
            "/answers/lawful.no_unfair_conditions".into(),
            None,
        ),
        (Method::POST, "/submit".into(), None),
        (Method::POST, "/withdraw".into(), None),
        (Method::POST, "/upgrade?to=2024".into(), None),
        (Method::DELETE, format!("/evidence/{eid}"), None),
    ];
    for (method, suffix, body) in writes {
        let theirs = app
            .send_if_match(
                method.clone(),
                &format!("{}{suffix}", d.path),
                &other.token,
                &d.etag,
                body.as_ref(),
            )
            .await;
        let absent = app
            .send_if_match(
                method,
                &format!("{missing}{suffix}"),
                &other.token,
                &d.etag,
                body.as_ref(),
            )
            .await;
        theirs.problem(404, "not_found");
        assert_eq!(theirs.body, absent.body, "{suffix}");
    }
    let res = app
        .upload(
            &other.token,
            &d,
            "b.pdf",
            "application/pdf",
            &pdf_bytes("b"),
            "lawful.compliance_system",
        )
        .await;
    res.problem(404, "not_found");
    // Nothing changed.
    let view = app.get(&d.path, Some(&a.token)).await.json();
    assert_eq!(
        view["answers"]["lawful.no_unfair_conditions"]["value"],
        true
    );
    assert_eq!(view["evidence"].as_array().unwrap().len(), 1);
    assert!(
        app.get("/api/v1/submissions", Some(&other.token))
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn upgrade_from_2014_to_2024(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let mut d = app.create_submission(&e.token, "2014").await;
    app.answer_all(
        &e.token,
        &mut d,
        [
            (
                "lawful.no_unfair_conditions",
                json!({ "value": true, "comment": "kept" }),
            ),
            ("education.printed_materials", json!({ "value": true })),
            ("dignity_privacy.data_security", json!({ "value": 3 })),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    )
    .await;
    let res = app
        .send_if_match(
            Method::POST,
            &format!("{}/upgrade?to=2024", d.path),
            &e.token,
            &d.etag,
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    let plan = &body["plan"];
    assert_eq!(plan["from"], "2014");
    assert_eq!(plan["to"], "2024");
    assert!(plan["carried_over"].as_array().unwrap().contains(
        &json!({ "from": "lawful.no_unfair_conditions", "to": "lawful.no_unfair_conditions" })
    ));
    assert!(plan["carried_over"].as_array().unwrap().contains(
        &json!({ "from": "dignity_privacy.data_security", "to": "dignity_privacy.data_security" })
    ));
    assert_eq!(plan["dropped"], json!(["education.printed_materials"]));
    let added = plan["added"].as_array().unwrap();
    for id in [
        "fair_trade.no_price_discrimination",
        "information.livestream_selling",
        "fair_trade.auto_renewal",
    ] {
        assert!(added.contains(&json!(id)), "{id}");
    }
    let s = &body["submission"];
    assert_eq!(s["version"], "2024");
    assert_eq!(
        s["answers"]["lawful.no_unfair_conditions"]["comment"],
        "kept"
    );
    assert!(s["answers"].get("education.printed_materials").is_none());
    // The dropped answer is still readable in the history.
    let history = app
        .get(&format!("{}/history", d.path), Some(&e.token))
        .await
        .json();
    let dropped = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["change"] == "dropped_on_upgrade")
        .expect("dropped answer in history");
    assert_eq!(dropped["criterion_id"], "education.printed_materials");
    assert_eq!(dropped["value"], true);
    assert_eq!(dropped["schema_version"], "2014");
    // Going back is not an upgrade.
    let etag = res.header("etag").unwrap();
    let res = app
        .send_if_match(
            Method::POST,
            &format!("{}/upgrade?to=2014", d.path),
            &e.token,
            &etag,
            None,
        )
        .await;
    assert_eq!(res.invalid_fields(), ["to"]);
}

async fn evidence_types_sizes_and_quota(b: Backend) {
    let app = spawn_app_with(b, |s| {
        s.evidence_max_bytes = 2_000;
        s.evidence_quota_bytes = 3_000;
    })
    .await;
    let e = app.enterprise().await;
    let d = app.create_submission(&e.token, "2024").await;
    let criterion = "lawful.compliance_system";
    let stored = async |app: &TestApp| app.state.evidence.count().await.unwrap();

    // Declared type, extension and content must agree.
    app.upload(&e.token, &d, "scan.pdf", "image/png", PNG_BYTES, criterion)
        .await
        .problem(415, "unsupported_media_type");
    app.upload(
        &e.token,
        &d,
        "scan.pdf",
        "application/pdf",
        PNG_BYTES,
        criterion,
    )
    .await
    .problem(415, "unsupported_media_type");
    app.upload(&e.token, &d, "a.gif", "image/gif", b"GIF89a....", criterion)
        .await
        .problem(415, "unsupported_media_type");
    app.upload(
        &e.token,
        &d,
        "a.exe",
        "application/pdf",
        &pdf_bytes("x"),
        criterion,
    )
    .await
    .problem(415, "unsupported_media_type");
    // Unknown criteria, or none, are named.
    let res = app
        .upload(
            &e.token,
            &d,
            "a.pdf",
            "application/pdf",
            &pdf_bytes("x"),
            "no.such",
        )
        .await;
    assert_eq!(res.invalid_fields(), ["no.such"]);
    // Over the size limit: 413 and nothing on disk.
    let mut big = pdf_bytes("big");
    big.resize(2_500, b' ');
    app.upload(&e.token, &d, "big.pdf", "application/pdf", &big, criterion)
        .await
        .problem(413, "payload_too_large");
    assert_eq!(stored(&app).await, 0);

    let mut file = pdf_bytes("one");
    file.resize(1_800, b' ');
    let res = app
        .upload(&e.token, &d, "one.pdf", "application/pdf", &file, criterion)
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json()["size_bytes"], 1_800);
    let sha = res.json()["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha.len(), 64);
    let first = res.json()["id"].as_i64().unwrap();
    // The quota counts what the enterprise already stores.
    let mut second = pdf_bytes("two");
    second.resize(1_500, b' ');
    app.upload(
        &e.token,
        &d,
        "two.pdf",
        "application/pdf",
        &second,
        criterion,
    )
    .await
    .problem(413, "evidence_quota_exceeded");
    assert_eq!(stored(&app).await, 1);
    // Deleting from a draft frees the file and the quota.
    let res = app
        .request(
            Method::DELETE,
            &format!("{}/evidence/{first}", d.path),
            Some(&e.token),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.text());
    assert_eq!(stored(&app).await, 0);
    let res = app
        .upload(
            &e.token,
            &d,
            "two.pdf",
            "application/pdf",
            &second,
            criterion,
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    app.get(&format!("{}/evidence/{first}", d.path), Some(&e.token))
        .await
        .problem(404, "not_found");
}

/// Walks a list page by page (`limit`), following `next_cursor` and checking that the `Link`
/// header names the same next page; returns every item.
async fn walk(app: &TestApp, path: &str, token: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = format!("{path}?limit={limit}");
    loop {
        let res = app.get(&next, Some(token)).await;
        assert_eq!(res.status, 200, "{next}: {}", res.text());
        let page = res.json();
        let got = page["items"].as_array().unwrap();
        assert!(got.len() <= limit, "{next}: {page}");
        items.extend(got.iter().cloned());
        let Some(cursor) = page["next_cursor"].as_str() else {
            assert!(
                res.header("link").is_none(),
                "{next}: a Link on the last page"
            );
            assert!(
                !got.is_empty() || items.is_empty(),
                "{next}: an empty last page"
            );
            return items;
        };
        let link = res.header("link").expect("Link header while pages follow");
        assert!(
            link.contains(cursor) && link.ends_with("rel=\"next\""),
            "{link}"
        );
        next = format!("{path}?limit={limit}&cursor={cursor}");
    }
}

/// The lists that grow under one submission or enterprise (evidence, answer history, users)
/// follow the convention of every list: `limit`, opaque `cursor`, `next_cursor` and `Link`.
async fn lists_under_a_submission_or_enterprise_are_paged(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let mut d = app.create_submission(&e.token, "2024").await;
    for i in 0..5 {
        let text = format!("file {i}");
        let res = app
            .upload(
                &e.token,
                &d,
                &format!("f{i}.pdf"),
                "application/pdf",
                &pdf_bytes(&text),
                "lawful.compliance_system",
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text());
    }
    app.etag_of(&e.token, &mut d).await;
    let criteria = app.criteria_of(&e.token, "C1491", "2024").await;
    let (answers, _) = best_answers(&criteria[..7]);
    app.answer_all(&e.token, &mut d, answers).await;
    for _ in 0..3 {
        app.member_token(&e).await;
    }
    for (path, expected) in [
        (format!("{}/evidence", d.path), 5),
        (format!("{}/history", d.path), 7),
        (format!("/api/v1/enterprises/{}/users", e.id), 4),
    ] {
        let all = walk(&app, &path, &e.token, 200).await;
        assert_eq!(all.len(), expected, "{path}");
        for limit in [1, 2, 3] {
            assert_eq!(
                walk(&app, &path, &e.token, limit).await,
                all,
                "{path} by {limit}"
            );
        }
        let res = app.get(&format!("{path}?limit=0"), Some(&e.token)).await;
        assert_eq!(res.invalid_fields(), ["limit"], "{path}");
        let res = app.get(&format!("{path}?after=3"), Some(&e.token)).await;
        let problem = res.problem(400, "malformed_request");
        assert!(
            problem["detail"].as_str().unwrap().contains("`after`"),
            "{problem}"
        );
    }
}

/// The newest draft is discarded, then another enterprise starts one: it gets a new id, so the
/// discarded draft's audit entries never name another enterprise's submission.
async fn a_discarded_drafts_id_is_never_given_again(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let d = app.create_submission(&e.token, "2024").await;
    app.discard(&e.token, &d).await;
    let other = app.enterprise().await;
    let next = app.create_submission(&other.token, "2024").await;
    assert!(next.id > d.id, "{} after {}", next.id, d.id);
    let named = app.audit_of_submission(next.id).await;
    assert!(!named.is_empty());
    assert!(
        named.iter().all(|a| a.enterprise_id == Some(other.id)),
        "{named:?}"
    );
}

/// A bulk save links the evidence each answer names. One answer naming another enterprise's
/// evidence refuses the whole save, naming that criterion: no answer, no link, no new revision
/// and no audit entry are kept; without it, the save goes through with its link.
async fn answers_link_evidence_all_or_nothing(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let mut d = app.create_submission(&e.token, "2024").await;
    let ours = app
        .upload(
            &e.token,
            &d,
            "policy.pdf",
            "application/pdf",
            &pdf_bytes("policy"),
            "lawful.compliance_system",
        )
        .await;
    assert_eq!(ours.status, 201, "{}", ours.text());
    d.etag = ours.header("etag").expect("etag");
    let ours = ours.json()["id"].as_i64().unwrap();
    let other = app.enterprise().await;
    let od = app.create_submission(&other.token, "2024").await;
    let theirs = app
        .upload(
            &other.token,
            &od,
            "theirs.pdf",
            "application/pdf",
            &pdf_bytes("theirs"),
            "lawful.compliance_system",
        )
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.text());
    let theirs = theirs.json()["id"].as_i64().unwrap();
    let logged = app.audit_of_submission(d.id).await.len();
    // The same evidence named twice is linked once.
    let answers = |evidence: i64| {
        json!({ "answers": {
            "lawful.compliance_system": { "value": 3, "evidence_ids": [ours, ours] },
            "lawful.no_unfair_conditions": { "value": true, "evidence_ids": [evidence] },
        }})
    };
    // Past 100 ids an answer is refused before anything is looked up.
    let many = json!({ "answers": {
        "lawful.compliance_system": { "value": 3, "evidence_ids": vec![ours; 101] },
    }});
    let p = app
        .send_if_match(
            Method::PATCH,
            &format!("{}/answers", d.path),
            &e.token,
            &d.etag,
            Some(&many),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(p["errors"][0]["field"], "lawful.compliance_system", "{p}");
    let refused = app
        .send_if_match(
            Method::PATCH,
            &format!("{}/answers", d.path),
            &e.token,
            &d.etag,
            Some(&answers(theirs)),
        )
        .await;
    let p = refused.problem(422, "validation_failed");
    assert_eq!(
        p["errors"][0]["field"], "lawful.no_unfair_conditions",
        "{p}"
    );
    let view = app.get(&d.path, Some(&e.token)).await;
    assert_eq!(view.header("etag").as_deref(), Some(d.etag.as_str()));
    let view = view.json();
    assert!(view["answers"].as_object().unwrap().is_empty(), "{view}");
    assert_eq!(
        view["evidence"][0]["criteria"],
        json!(["lawful.compliance_system"])
    );
    assert_eq!(app.audit_of_submission(d.id).await.len(), logged);

    let saved = app
        .send_if_match(
            Method::PATCH,
            &format!("{}/answers", d.path),
            &e.token,
            &d.etag,
            Some(&answers(ours)),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text());
    let view = app.get(&d.path, Some(&e.token)).await.json();
    assert_eq!(view["answers"]["lawful.compliance_system"]["value"], 3);
    assert_eq!(
        view["answers"]["lawful.no_unfair_conditions"]["value"],
        true
    );
    let mut linked: Vec<String> =
        serde_json::from_value(view["evidence"][0]["criteria"].clone()).unwrap();
    linked.sort();
    assert_eq!(
        linked,
        ["lawful.compliance_system", "lawful.no_unfair_conditions"]
    );
    assert_eq!(app.audit_of_submission(d.id).await.len(), logged + 1);
    // The other enterprise's evidence is linked to nothing of ours.
    let theirs_view = app.get(&od.path, Some(&other.token)).await.json();
    assert_eq!(
        theirs_view["evidence"][0]["criteria"],
        json!(["lawful.compliance_system"])
    );
}

/// One save naming every piece of evidence on every criterion links each (evidence, criterion)
/// pair once, past the rows one insert takes (400 on SQLite, whose save links them with
/// multi-row inserts), and the same save again adds no link.
async fn a_save_links_hundreds_of_pairs_each_once(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let mut d = app.create_submission(&e.token, "2024").await;
    let criteria = app.criteria_of(&e.token, "C1491", "2024").await;
    let (mut answers, _) = best_answers(&criteria);
    let files = 400 / criteria.len() + 2;
    let mut ids = Vec::new();
    for n in 0..files {
        let res = app
            .upload(
                &e.token,
                &d,
                &format!("proof-{n}.pdf"),
                "application/pdf",
                &pdf_bytes(&format!("proof {n}")),
                "lawful.compliance_system",
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text());
        ids.push(res.json()["id"].as_i64().unwrap());
    }
    assert!(
        criteria.len() * files > 400,
        "{} pairs",
        criteria.len() * files
    );
    for answer in answers.values_mut() {
        answer["evidence_ids"] = json!(ids);
    }
    let mut expected: Vec<String> = answers.keys().cloned().collect();
    expected.sort();
    for _ in 0..2 {
        app.etag_of(&e.token, &mut d).await;
        app.answer_all(&e.token, &mut d, answers.clone()).await;
        let view = app.get(&d.path, Some(&e.token)).await.json();
        let evidence = view["evidence"].as_array().unwrap();
        assert_eq!(evidence.len(), files, "{view}");
        for piece in evidence {
            let mut linked: Vec<String> =
                serde_json::from_value(piece["criteria"].clone()).unwrap();
            linked.sort();
            assert_eq!(linked, expected, "evidence {}", piece["id"]);
        }
    }
}

/// A save that links a piece of evidence and that evidence's deletion, sent at once, round after
/// round: each moves the submission's revision, so the one that loses is 412 (or, for a save
/// that checks the evidence after the deletion committed, 422 naming the criterion), never a
/// 5xx, and no link outlives the evidence it names.
async fn a_save_linking_evidence_races_its_deletion(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let mut d = app.create_submission(&e.token, "2024").await;
    for round in 0..8 {
        let up = app
            .upload(
                &e.token,
                &d,
                "policy.pdf",
                "application/pdf",
                &pdf_bytes(&format!("policy {round}")),
                "lawful.compliance_system",
            )
            .await;
        assert_eq!(up.status, 201, "{}", up.text());
        d.etag = up.header("etag").expect("etag");
        let evidence = up.json()["id"].as_i64().unwrap();
        let body = json!({ "answers": {
            "lawful.no_unfair_conditions": { "value": true, "evidence_ids": [evidence] },
        }});
        let answers = format!("{}/answers", d.path);
        let removal = format!("{}/evidence/{evidence}", d.path);
        let (saved, removed) = futures_util::future::join(
            app.send_if_match(Method::PATCH, &answers, &e.token, &d.etag, Some(&body)),
            app.send_if_match(Method::DELETE, &removal, &e.token, &d.etag, None),
        )
        .await;
        assert!(
            matches!(
                (saved.status, removed.status),
                (200, 204 | 412) | (412 | 422, 204)
            ),
            "round {round}: save {} {}, removal {} {}",
            saved.status,
            saved.text(),
            removed.status,
            removed.text()
        );
        let links: i64 = app
            .state
            .db
            .read(move |conn| {
                use csr_assess::db::schema::evidence_links::dsl as l;
                use diesel::prelude::*;
                Ok(l::evidence_links
                    .filter(l::evidence_id.eq(evidence))
                    .count()
                    .get_result(conn)?)
            })
            .await
            .unwrap();
        if saved.status == 422 {
            assert_eq!(saved.invalid_fields(), ["lawful.no_unfair_conditions"]);
        }
        // The upload's own link, and the save's when it went through.
        let expected = match removed.status {
            204 => 0,
            _ => 1 + i64::from(saved.status == 200),
        };
        assert_eq!(
            links, expected,
            "round {round}: save {}, removal {}",
            saved.status, removed.status
        );
        app.etag_of(&e.token, &mut d).await;
    }
}

/// A save sent with the ETag the last save answered is checked against the submission as it is
/// now, not as that save left it: a revision another instance moved on is 412, and a submission
/// that stopped being editable at the same revision (changed behind the service's back) is 409.
/// Neither save is kept. (A save that skipped the submission's read, keeping what the last save
/// returned, would have to fail here.)
async fn a_save_on_the_last_saved_etag_checks_the_submission_again(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let d = app.create_submission(&e.token, "2024").await;
    let path = format!("{}/answers/lawful.compliance_system", d.path);
    let save = |etag: String, value: i64| {
        let (app, path, token) = (&app, &path, &e.token);
        async move {
            app.send_if_match(
                Method::PUT,
                path,
                token,
                &etag,
                Some(&json!({ "value": value })),
            )
            .await
        }
    };
    let change = |sql: String| {
        app.state
            .db
            .write(move |conn| Ok(diesel::RunQueryDsl::execute(diesel::sql_query(sql), conn)?))
    };
    let first = save(d.etag.clone(), 1).await;
    assert_eq!(first.status, 200, "{}", first.text());
    // Another instance saves: the revision moves on without this one knowing.
    change(format!(
        "UPDATE submissions SET revision = revision + 1 WHERE id = {}",
        d.id
    ))
    .await
    .unwrap();
    save(first.header("etag").unwrap(), 2)
        .await
        .problem(412, "precondition_failed");
    let current = app
        .get(&d.path, Some(&e.token))
        .await
        .header("etag")
        .unwrap();
    let third = save(current, 3).await;
    assert_eq!(third.status, 200, "{}", third.text());
    change(format!(
        "UPDATE submissions SET status = 'submitted' WHERE id = {}",
        d.id
    ))
    .await
    .unwrap();
    save(third.header("etag").unwrap(), 4)
        .await
        .problem(409, "not_editable");
    let view = app.get(&d.path, Some(&e.token)).await;
    assert_eq!(
        view.json()["answers"]["lawful.compliance_system"]["value"],
        3
    );
    let history = history_rows(&app, d.id).await;
    assert_eq!(history, 2);
}

/// How many history entries the answers of submission `id` have.
async fn history_rows(app: &TestApp, id: i64) -> i64 {
    app.state
        .db
        .read(move |conn| {
            use csr_assess::db::schema::answer_history::dsl as h;
            use diesel::prelude::*;
            Ok(h::answer_history
                .filter(h::submission_id.eq(id))
                .count()
                .get_result(conn)?)
        })
        .await
        .unwrap()
}

/// Many saves start at once from one ETag: exactly one is kept. Each checks the ETag when it
/// reads the submission, and the losers that pass that check meet the revision's bump, which
/// finds the revision moved on: their answers, history entries and audit entries are not kept.
async fn saves_racing_on_one_etag_write_once(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let d = app.create_submission(&e.token, "2024").await;
    let path = format!("{}/answers/lawful.compliance_system", d.path);
    let logged = app.audit_of_submission(d.id).await.len();
    let bodies: Vec<Value> = (0..16)
        .map(|n| json!({ "value": n % 5, "comment": format!("save {n}") }))
        .collect();
    let saves = bodies
        .iter()
        .map(|body| app.send_if_match(Method::PUT, &path, &e.token, &d.etag, Some(body)));
    let results = futures_util::future::join_all(saves).await;
    let mut kept = Vec::new();
    for (n, res) in results.iter().enumerate() {
        match res.status {
            200 => kept.push(n),
            _ => {
                res.problem(412, "precondition_failed");
            }
        }
    }
    assert_eq!(kept.len(), 1, "{kept:?}");
    let view = app.get(&d.path, Some(&e.token)).await;
    assert_eq!(
        view.header("etag"),
        results[kept[0]].header("etag"),
        "the kept save's revision is the current one"
    );
    let answer = &view.json()["answers"]["lawful.compliance_system"];
    assert_eq!(answer["comment"], format!("save {}", kept[0]));
    let history = history_rows(&app, d.id).await;
    let entries = app.audit_of_submission(d.id).await.len();
    assert_eq!((history, entries), (1, logged + 1));
}
