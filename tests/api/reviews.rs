//! Review and certification: queue scoping, claims, verdicts, every decision, four-eyes,
//! certificates (numbers, signatures, status, supersession, concurrency) and public pages.

use actix_web::http::Method;
use csr_assess::auth::signing::Jwks;
use csr_assess::certification::SignedCertificate;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, PNG_BYTES, TestApp, answered_draft, approve, best_answer, claim_and_decide,
    decide_gates, spawn_app, spawn_app_with, spawn_sibling, submitted,
};

backend_tests!(
    a_breached_legal_duty_blocks_any_level,
    an_evidence_request_blocks_approval_until_decided,
    evidence_request_answers_are_checked,
    a_red_line_below_full_points_is_not_certifiable,
    every_gate_needs_a_verdict_and_each_is_named,
    batch_verdicts_are_all_or_nothing,
    the_queue_is_scoped_filtered_and_paged,
    claims_are_exclusive_and_never_self_reviews,
    verdicts_and_decisions_name_the_field_they_miss,
    return_and_resubmit_then_reject,
    approval_issues_a_signed_certificate,
    enterprises_find_their_certificates,
    a_retried_approval_issues_one_certificate,
    a_certificate_file_verifies_offline_and_forgeries_fail,
    online_verification_asks_the_issuer_for_the_status,
    an_independent_verifier_in_python_agrees,
    exemplary_needs_four_eyes,
    not_applicable_duties_are_accepted_or_contested,
    certificate_status_changes_and_supersession,
    conflicted_reviewers_leave_certificates_alone,
    unverified_enterprises_are_not_certified,
    one_certificate_from_twenty_concurrent_approvals,
    concurrent_approvals_number_certificates_apart,
    public_pages_and_directory,
);

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> crate::helpers::Resp {
    app.post(path, Some(token), &body).await
}

/// The review's case: every other answer at its best with evidence, every legal duty answered
/// "no" — the live score reaches no level, names each duty, and the report says which duties
/// block any level, each with its law.
async fn a_breached_legal_duty_blocks_any_level(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let duties = std::cell::RefCell::new(Vec::new());
    let titles = std::cell::RefCell::new(Vec::new());
    let d = answered_draft(&app, &e, "C1491", |c| {
        if c["statutory"] == true {
            duties
                .borrow_mut()
                .push(c["id"].as_str().unwrap().to_owned());
            titles
                .borrow_mut()
                .push(c["title"]["zh"].as_str().unwrap().to_owned());
            json!({ "value": false })
        } else {
            best_answer(c)
        }
    })
    .await;
    let mut duties = duties.into_inner();
    assert!(duties.len() >= 19, "{duties:?}");
    // The report says which duties block any level, each with its law.
    let pdf = app
        .get(&format!("{}/report.pdf", d.path), Some(&e.token))
        .await;
    assert_eq!(pdf.status, 200, "{}", pdf.text());
    let text = crate::reports::pdf_text(&app, &pdf.body, "breaches.pdf");
    assert!(
        text.contains("法定义务：未全部履行（不予评定等级）"),
        "{text}"
    );
    for title in titles.into_inner() {
        assert!(text.contains(&format!("·{title}（《")), "{title}: {text}");
    }
    let view = app.get(&d.path, Some(&e.token)).await.json();
    let score = &view["score"];
    assert!(score["total"].as_f64().unwrap() > 60.0, "{score}");
    assert_eq!(score["level"], "not_certified", "{score}");
    let mut named: Vec<String> = score["statutory_breaches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    named.sort();
    duties.sort();
    assert_eq!(named, duties);
    let explained = score["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == duties[0].as_str())
        .unwrap();
    assert_eq!(explained["rule"], "no");
}

/// A clean submission claimed by a reviewer, with the claim's response.
struct UnderReview {
    app: TestApp,
    enterprise: crate::helpers::Enterprise,
    reviewer: String,
    id: i64,
    claimed: Value,
}

impl UnderReview {
    async fn start(b: Backend) -> Self {
        let app = spawn_app(b).await;
        let enterprise = app.enterprise().await;
        let id = submitted(&app, &enterprise, "C1491", 2).await;
        let (_, reviewer) = app.staff("reviewer", json!({})).await;
        let claimed = post(
            &app,
            &reviewer,
            &format!("/api/v1/reviews/{id}/claim"),
            json!({}),
        )
        .await
        .json();
        Self {
            app,
            enterprise,
            reviewer,
            id,
            claimed,
        }
    }

    /// Records one verdict; returns the review.
    async fn verdict(&self, criterion: &str, body: Value) -> Value {
        let path = format!("/api/v1/reviews/{}/verdicts/{criterion}", self.id);
        let res = self
            .app
            .send_json(Method::PUT, &path, Some(&self.reviewer), &body)
            .await;
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()
    }

    async fn approve(&self) -> crate::helpers::Resp {
        let path = format!("/api/v1/reviews/{}/approve", self.id);
        post(
            &self.app,
            &self.reviewer,
            &path,
            json!({ "comment": "符合要求" }),
        )
        .await
    }

    async fn review(&self) -> Value {
        let path = format!("/api/v1/reviews/{}", self.id);
        self.app.get(&path, Some(&self.reviewer)).await.json()
    }

    /// The reviewer asks for evidence of staff training.
    async fn request_training_evidence(&self) {
        self.verdict(
            "lawful.staff_training",
            json!({ "verdict": "request_evidence", "comment": "请提供培训记录" }),
        )
        .await;
    }

    fn answer_path(&self, criterion: &str) -> String {
        format!(
            "/api/v1/submissions/{}/evidence-requests/{criterion}/answer",
            self.id
        )
    }

    /// Every red line and legal duty of the resolved schema but `except`, sorted.
    async fn gates_except(&self, except: &str) -> Vec<String> {
        let resolved = self
            .app
            .get(
                "/api/v1/schemas/cca-good-enterprise/versions/2024/resolved?industry=C1491",
                Some(&self.enterprise.token),
            )
            .await
            .json();
        let gates: Vec<String> = resolved["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["red_line"] == true || c["statutory"] == true)
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .filter(|id| id != except)
            .collect();
        assert!(gates.len() > 10, "{gates:?}");
        sorted(gates)
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The strings of a JSON array, sorted, without `except`.
fn strings_except(v: &Value, except: &str) -> Vec<String> {
    sorted(
        v.as_array()
            .unwrap_or_else(|| panic!("not an array: {v}"))
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .filter(|id| id != except)
            .collect(),
    )
}

/// An open evidence request blocks approval, naming the criterion, until the enterprise answers
/// with evidence and the reviewer decides the criterion, which closes the request.
async fn an_evidence_request_blocks_approval_until_decided(b: Backend) {
    let t = UnderReview::start(b).await;
    t.request_training_evidence().await;
    let p = t.approve().await.problem(422, "evidence_requested");
    assert_eq!(
        p["errors"],
        json!([{
            "field": "verdicts/lawful.staff_training",
            "message": "evidence requested and not answered yet",
        }])
    );

    // The enterprise sees the request in its submission, adds evidence for that criterion and
    // answers.
    let e = &t.enterprise;
    let mine = t
        .app
        .get(&format!("/api/v1/submissions/{}", t.id), Some(&e.token))
        .await
        .json();
    let requests = &mine["evidence_requests"];
    assert_eq!(requests.as_array().unwrap().len(), 1, "{requests}");
    assert_eq!(requests[0]["criterion_id"], "lawful.staff_training");
    assert_eq!(requests[0]["request"], "请提供培训记录");
    assert_eq!(requests[0]["open"], true);
    assert_eq!(requests[0]["answer"], Value::Null);
    let draft = crate::helpers::Draft::of(t.id);
    let res = t
        .app
        .upload(
            &e.token,
            &draft,
            "training.png",
            "image/png",
            PNG_BYTES,
            "lawful.staff_training",
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let file = res.json()["id"].as_i64().unwrap();
    let answer = json!({ "answer": "已上传2026年度培训签到表" });
    let res = post(
        &t.app,
        &e.token,
        &t.answer_path("lawful.staff_training"),
        answer,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let answered = &res.json()["evidence_requests"][0];
    assert_eq!(answered["answer"], "已上传2026年度培训签到表");
    assert_eq!(answered["evidence_ids"], json!([file]));

    // The reviewer sees the answer; approval still waits for the reviewer's decision.
    let p = t.approve().await.problem(422, "evidence_requested");
    assert_eq!(
        p["errors"][0]["message"],
        "the enterprise answered: accept or adjust the criterion"
    );
    // Accepted among other verdicts of one request, one of them a new request for evidence:
    // each criterion keeps its own request and answer.
    let res = t
        .app
        .send_json(
            Method::PUT,
            &format!("/api/v1/reviews/{}/verdicts", t.id),
            Some(&t.reviewer),
            &json!({ "verdicts": {
                "lawful.compliance_system": {
                    "verdict": "request_evidence", "comment": "请提供合规制度文件",
                },
                "lawful.staff_training": { "verdict": "accept" },
                "lawful.no_unfair_conditions": { "verdict": "accept" },
            }}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let view = res.json();
    let requests = view["submission"]["evidence_requests"].as_array().unwrap();
    let of = |criterion: &str| {
        let found: Vec<&Value> = requests
            .iter()
            .filter(|r| r["criterion_id"] == criterion)
            .collect();
        assert_eq!(found.len(), 1, "{criterion}: {requests:?}");
        found[0].clone()
    };
    assert_eq!(requests.len(), 2, "{requests:?}");
    let kept = of("lawful.staff_training");
    assert_eq!(kept["open"], false, "{kept}");
    assert_eq!(kept["request"], "请提供培训记录");
    assert_eq!(kept["answer"], "已上传2026年度培训签到表");
    let new = of("lawful.compliance_system");
    assert_eq!(new["open"], true, "{new}");
    assert_eq!(new["request"], "请提供合规制度文件");
    assert_eq!(new["answer"], Value::Null);
    // The answer is the review as it now reads.
    assert_eq!(t.review().await, view);
    t.verdict("lawful.compliance_system", json!({ "verdict": "accept" }))
        .await;
    let p = t.approve().await.problem(422, "verdicts_required");
    assert!(
        !p["errors"].to_string().contains("lawful.staff_training"),
        "{p}"
    );
}

/// Under review, only the requested criterion takes new evidence, only the enterprise answers,
/// an outsider sees nothing, a criterion without a request has nothing to answer, and an empty
/// answer names its field.
async fn evidence_request_answers_are_checked(b: Backend) {
    let t = UnderReview::start(b).await;
    t.request_training_evidence().await;
    let e = &t.enterprise;
    let draft = crate::helpers::Draft::of(t.id);
    let res = t
        .app
        .upload(
            &e.token,
            &draft,
            "t.png",
            "image/png",
            PNG_BYTES,
            "lawful.compliance_system",
        )
        .await;
    assert_eq!(res.invalid_fields(), ["lawful.compliance_system"]);
    let path = t.answer_path("lawful.staff_training");
    let fields = post(&t.app, &e.token, &path, json!({ "answer": " " }))
        .await
        .invalid_fields();
    assert_eq!(fields, ["answer"]);
    post(&t.app, &t.reviewer, &path, json!({ "answer": "已上传" }))
        .await
        .problem(403, "forbidden");
    let other = t.app.enterprise().await;
    post(&t.app, &other.token, &path, json!({ "answer": "已上传" }))
        .await
        .problem(404, "not_found");
    let unrequested = t.answer_path("lawful.compliance_system");
    post(
        &t.app,
        &e.token,
        &unrequested,
        json!({ "answer": "已上传" }),
    )
    .await
    .problem(404, "not_found");
    // None of the refused answers reached the request.
    let request = &t.review().await["submission"]["evidence_requests"][0];
    assert_eq!(request["answer"], Value::Null, "{request}");
}

/// A red line adjusted below full points fails, whatever the total, and the reviewed score
/// names it.
async fn a_red_line_below_full_points_is_not_certifiable(b: Backend) {
    let t = UnderReview::start(b).await;
    t.verdict(
        "lawful.no_fraud_penalty",
        json!({ "verdict": "adjust", "points": 0.5, "reason": "2025年因价格欺诈受到行政处罚" }),
    )
    .await;
    let p = t.approve().await.problem(422, "not_certifiable");
    assert_eq!(
        p["errors"],
        json!([{ "field": "criteria/lawful.no_fraud_penalty", "message": "red line not met" }])
    );
    assert_eq!(
        t.review().await["reviewed_score"]["red_lines_failed"],
        json!(["lawful.no_fraud_penalty"])
    );
}

/// Approval waits for a verdict on every red line and legal duty of the resolved schema, each
/// named, and the claim said which they are.
async fn every_gate_needs_a_verdict_and_each_is_named(b: Backend) {
    let t = UnderReview::start(b).await;
    let decided = "lawful.no_fraud_penalty";
    let gates = t.gates_except(decided).await;
    assert_eq!(
        strings_except(&t.claimed["verdicts_required"], decided),
        gates
    );
    let view = t.verdict(decided, json!({ "verdict": "accept" })).await;
    assert_eq!(strings_except(&view["verdicts_required"], ""), gates);
    let p = t.approve().await.problem(422, "verdicts_required");
    let named: Vec<String> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let field = e["field"].as_str().unwrap();
            field.trim_start_matches("verdicts/").to_owned()
        })
        .collect();
    assert_eq!(sorted(named), gates);
}

/// Verdicts in one call are all or nothing: one invalid entry records none and names its
/// field; the valid batch records all, and approval follows.
async fn batch_verdicts_are_all_or_nothing(b: Backend) {
    let t = UnderReview::start(b).await;
    let gates = t.gates_except("").await;
    let path = format!("/api/v1/reviews/{}/verdicts", t.id);
    let batch: serde_json::Map<String, Value> = gates
        .iter()
        .map(|g| (g.clone(), json!({ "verdict": "accept" })))
        .collect();
    let mut bad = batch.clone();
    bad.insert(
        gates[0].clone(),
        json!({ "verdict": "adjust", "points": 3 }),
    );
    let (app, reviewer, path) = (&t.app, &t.reviewer, &path);
    let send = |verdicts| {
        let body = json!({ "verdicts": verdicts });
        async move {
            app.send_json(Method::PUT, path, Some(reviewer), &body)
                .await
        }
    };
    let res = send(bad).await;
    assert_eq!(
        res.invalid_fields(),
        [format!("verdicts/{}/points", gates[0])]
    );
    assert_eq!(
        strings_except(&t.review().await["verdicts_required"], ""),
        gates
    );
    let res = send(batch).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["verdicts_required"], json!([]));
    let res = t.approve().await;
    assert_eq!(res.status, 200, "{}", res.text());
}

/// A legal duty answered N/A is accepted, asked about or contested by returning the
/// submission; an adjustment, which N/A would ignore, is refused.
async fn not_applicable_duties_are_accepted_or_contested(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let na = std::cell::RefCell::new(None);
    let id = crate::helpers::submitted_with(&app, &e, "C1491", |c| {
        if na.borrow().is_none() && c["statutory"] == true && c["not_applicable_allowed"] == true {
            *na.borrow_mut() = Some(c["id"].as_str().unwrap().to_owned());
            json!({ "value": null, "not_applicable_reason": "本企业不提供该项服务" })
        } else {
            best_answer(c)
        }
    })
    .await;
    let na = na.into_inner().expect("a legal duty that allows N/A");
    let (_, r) = app.staff("reviewer", json!({})).await;
    let view = claim_and_decide(&app, &r, id).await;
    assert!(
        view["rounds"][0]["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["criterion_id"] == na.as_str())
    );
    let path = format!("/api/v1/reviews/{id}/verdicts");
    let one = |v: Value| {
        let mut m = serde_json::Map::new();
        m.insert(na.clone(), v);
        json!({ "verdicts": m })
    };
    let res = app
        .send_json(
            Method::PUT,
            &path,
            Some(&r),
            &one(json!({ "verdict": "adjust", "points": 0, "reason": "适用" })),
        )
        .await;
    assert_eq!(res.invalid_fields(), std::slice::from_ref(&na));
    let res = app
        .send_json(
            Method::PUT,
            &path,
            Some(&r),
            &one(json!({ "verdict": "request_evidence", "comment": "请说明不适用的依据" })),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
}

async fn the_queue_is_scoped_filtered_and_paged(b: Backend) {
    let app = spawn_app(b).await;
    let zj = app
        .enterprise_with(json!({ "region_code": "330106" }))
        .await;
    let bj = app
        .enterprise_with(json!({ "region_code": "110101", "industry_code": "J6621" }))
        .await;
    let zj_id = submitted(&app, &zj, "C1491", 4).await;
    let bj_id = submitted(&app, &bj, "J6621", 2).await;
    let (_, local) = app.staff("reviewer", json!({ "region_scope": "33" })).await;
    let (_, national) = app.staff("reviewer", json!({})).await;
    let ids = |v: &Value| -> Vec<i64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["submission_id"].as_i64().unwrap())
            .collect()
    };

    assert_eq!(
        ids(&app.get("/api/v1/reviews/queue", Some(&local)).await.json()),
        [zj_id]
    );
    assert_eq!(
        ids(&app
            .get("/api/v1/reviews/queue", Some(&national))
            .await
            .json()),
        [zj_id, bj_id]
    );
    assert_eq!(
        ids(&app
            .get("/api/v1/reviews/queue?industry=J66", Some(&national))
            .await
            .json()),
        [bj_id]
    );
    assert_eq!(
        ids(&app
            .get("/api/v1/reviews/queue?level=exemplary", Some(&national))
            .await
            .json()),
        [zj_id]
    );
    assert!(
        ids(&app
            .get("/api/v1/reviews/queue?min_age_days=3", Some(&national))
            .await
            .json())
        .is_empty()
    );
    // Paging with the cursor, oldest first.
    let first = app
        .get("/api/v1/reviews/queue?limit=1", Some(&national))
        .await
        .json();
    assert_eq!(ids(&first), [zj_id]);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = app
        .get(
            &format!("/api/v1/reviews/queue?limit=1&cursor={cursor}"),
            Some(&national),
        )
        .await
        .json();
    assert_eq!(ids(&second), [bj_id]);
    app.get("/api/v1/reviews/queue?cursor=nonsense", Some(&national))
        .await
        .invalid_fields();
    // Not for enterprises or industry bodies.
    app.get("/api/v1/reviews/queue", Some(&zj.token))
        .await
        .problem(403, "forbidden");
    let (_, body) = app
        .staff("industry_body", json!({ "industry_scopes": ["C"] }))
        .await;
    app.get("/api/v1/reviews/queue", Some(&body))
        .await
        .problem(403, "forbidden");
    // Out of scope is invisible.
    app.get(&format!("/api/v1/reviews/{bj_id}"), Some(&local))
        .await
        .problem(404, "not_found");
    assert_eq!(
        app.get(&format!("/api/v1/reviews/{zj_id}"), Some(&local))
            .await
            .status,
        200
    );
}

async fn claims_are_exclusive_and_never_self_reviews(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let id = submitted(&app, &e, "C1491", 4).await;
    let (_, a) = app.staff("reviewer", json!({})).await;
    let (_, other) = app.staff("reviewer", json!({})).await;
    let (_, insider) = app
        .staff("reviewer", json!({ "enterprise_id": e.id }))
        .await;
    let (_, far) = app.staff("reviewer", json!({ "region_scope": "11" })).await;

    post(
        &app,
        &insider,
        &format!("/api/v1/reviews/{id}/claim"),
        json!({}),
    )
    .await
    .problem(403, "forbidden");
    post(
        &app,
        &far,
        &format!("/api/v1/reviews/{id}/claim"),
        json!({}),
    )
    .await
    .problem(404, "not_found");
    let res = post(&app, &a, &format!("/api/v1/reviews/{id}/claim"), json!({})).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["submission"]["status"], "under_review");
    post(
        &app,
        &other,
        &format!("/api/v1/reviews/{id}/claim"),
        json!({}),
    )
    .await
    .problem(409, "already_claimed");
    post(&app, &a, &format!("/api/v1/reviews/{id}/claim"), json!({}))
        .await
        .problem(409, "already_claimed");
    // Only the claimant records verdicts.
    let v = json!({ "verdict": "accept" });
    app.send_json(
        Method::PUT,
        &format!("/api/v1/reviews/{id}/verdicts/lawful.compliance_system"),
        Some(&other),
        &v,
    )
    .await
    .problem(409, "claimed_by_another");
    // The enterprise can follow its review but not act on it; under review it cannot edit.
    assert_eq!(
        app.get(&format!("/api/v1/reviews/{id}"), Some(&e.token))
            .await
            .status,
        200
    );
    post(
        &app,
        &e.token,
        &format!("/api/v1/reviews/{id}/approve"),
        json!({}),
    )
    .await
    .problem(403, "forbidden");
}

/// Each incomplete verdict or decision names the missing or wrong field and changes nothing.
async fn verdicts_and_decisions_name_the_field_they_miss(b: Backend) {
    let t = UnderReview::start(b).await;
    let path = format!("/api/v1/reviews/{}/verdicts/lawful.compliance_system", t.id);
    for (body, field) in [
        (json!({ "verdict": "adjust", "points": 2 }), "points"),
        (json!({ "verdict": "adjust", "points": 0.5 }), "reason"),
        (json!({ "verdict": "request_evidence" }), "comment"),
        (json!({ "verdict": "maybe" }), "verdict"),
    ] {
        let res = t
            .app
            .send_json(Method::PUT, &path, Some(&t.reviewer), &body)
            .await;
        assert_eq!(res.invalid_fields(), [field], "{body}");
    }
    for decision in ["return", "reject"] {
        let path = format!("/api/v1/reviews/{}/{decision}", t.id);
        let res = post(&t.app, &t.reviewer, &path, json!({})).await;
        assert_eq!(res.invalid_fields(), ["comment"], "{decision}");
    }
    let review = t.review().await;
    assert_eq!(review["submission"]["status"], "under_review");
    assert_eq!(review["rounds"][0]["verdicts"], json!([]), "{review}");
}

/// A returned submission comes back with the enterprise's answer, its new evidence and edits,
/// which the second round shows; a rejection keeps both rounds.
async fn return_and_resubmit_then_reject(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let id = submitted(&app, &e, "C1491", 4).await;
    let (_, r) = app.staff("reviewer", json!({})).await;
    post(&app, &r, &format!("/api/v1/reviews/{id}/claim"), json!({})).await;
    let path = format!("/api/v1/reviews/{id}/verdicts/lawful.compliance_system");
    let res = app
        .send_json(
            Method::PUT,
            &path,
            Some(&r),
            &json!({ "verdict": "request_evidence", "comment": "请提供最近一次自查记录" }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let view = res.json();
    assert!(
        view["reviewed_score"]["total"].as_f64().unwrap()
            < view["submission"]["score"]["total"].as_f64().unwrap()
    );
    let res = post(
        &app,
        &r,
        &format!("/api/v1/reviews/{id}/return"),
        json!({ "comment": "补充自查记录后重新提交" }),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let returned = res.json();
    assert_eq!(returned["submission"]["status"], "returned");
    let review = app
        .get(&format!("/api/v1/reviews/{id}"), Some(&r))
        .await
        .json();
    assert_eq!(review, returned);

    // The enterprise sees the open request, edits, adds evidence, answers and resubmits.
    let sub = app
        .get(&format!("/api/v1/submissions/{id}"), Some(&e.token))
        .await;
    let request = &sub.json()["evidence_requests"][0];
    assert_eq!(request["criterion_id"], "lawful.compliance_system");
    assert_eq!(request["open"], true);
    let draft = crate::helpers::Draft::of(id);
    let res = app
        .upload(
            &e.token,
            &draft,
            "self-check.png",
            "image/png",
            PNG_BYTES,
            "lawful.compliance_system",
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let file = res.json()["id"].clone();
    let res = post(
        &app,
        &e.token,
        &format!("/api/v1/submissions/{id}/evidence-requests/lawful.compliance_system/answer"),
        json!({ "answer": "已补充2026年第三季度自查记录" }),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let sub = app
        .get(&format!("/api/v1/submissions/{id}"), Some(&e.token))
        .await;
    let etag = sub.header("etag").unwrap();
    let res = app
        .send_if_match(
            Method::PUT,
            &format!("/api/v1/submissions/{id}/answers/lawful.staff_training"),
            &e.token,
            &etag,
            Some(&json!({ "value": 4, "comment": "updated" })),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let etag = res.header("etag").unwrap();
    let res = app
        .send_if_match(
            Method::POST,
            &format!("/api/v1/submissions/{id}/submit"),
            &e.token,
            &etag,
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    // The answer is the submission as it now reads: submitted, the returned round's requests
    // closed with it, the new evidence and answer in.
    let resubmitted = res.json();
    assert_eq!(resubmitted["status"], "submitted");
    assert_eq!(resubmitted["evidence_requests"], json!([]));
    let sub = app
        .get(&format!("/api/v1/submissions/{id}"), Some(&e.token))
        .await;
    assert_eq!(sub.header("etag"), res.header("etag"));
    assert_eq!(sub.json(), resubmitted);

    // Second round: the reviewer sees what changed since the return, and the answer.
    let view = post(&app, &r, &format!("/api/v1/reviews/{id}/claim"), json!({}))
        .await
        .json();
    let changes = view["changes_since_last_round"].as_array().unwrap();
    let change = |id: &str| changes.iter().find(|c| c["criterion_id"] == id).cloned();
    assert_eq!(
        change("lawful.compliance_system"),
        Some(json!({
            "criterion_id": "lawful.compliance_system",
            "answer_changed": false,
            "evidence_added": [file],
        }))
    );
    assert_eq!(
        change("lawful.staff_training").unwrap()["answer_changed"],
        true
    );
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(
        view["rounds"][0]["verdicts"][0]["answer"],
        "已补充2026年第三季度自查记录"
    );
    // Rejected, and both rounds are kept.
    let res = post(
        &app,
        &r,
        &format!("/api/v1/reviews/{id}/reject"),
        json!({ "comment": "材料不实" }),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let view = res.json();
    assert_eq!(view["submission"]["status"], "rejected");
    let rounds = view["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 2);
    assert_eq!(rounds[0]["decision"], "returned");
    assert_eq!(rounds[0]["verdicts"][0]["verdict"], "request_evidence");
    assert_eq!(rounds[1]["decision"], "rejected");
    post(
        &app,
        &r,
        &format!("/api/v1/reviews/{id}/approve"),
        json!({}),
    )
    .await
    .problem(409, "not_under_review");
}

/// The members of a certificate that differ between runs: its number, dates, signature and
/// key, the generated credit code and the submission's id.
const CHANGING_CERTIFICATE_FIELDS: &[&str] = &[
    "number",
    "issued_on",
    "expires_on",
    "signature",
    "kid",
    "credit_code",
    "submission_id",
];

/// Approval issues a certificate at the reviewed score (an adjustment changed it, not the
/// self-assessed one), numbered and signed, valid for 24 months, and keeps both scores.
async fn approval_issues_a_signed_certificate(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let id = submitted(&app, &e, "C1491", 2).await;
    let (_, r) = app.staff("reviewer", json!({})).await;
    claim_and_decide(&app, &r, id).await;
    // An adjustment changes the reviewed score, not the self-assessed one.
    let res = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/reviews/{id}/verdicts/lawful.staff_training"),
            Some(&r),
            &json!({ "verdict": "adjust", "points": 1.0, "reason": "培训记录完整" }),
        )
        .await;
    let view = res.json();
    let reviewed = view["reviewed_score"]["total"].as_f64().unwrap();
    let self_assessed = view["submission"]["score"]["total"].as_f64().unwrap();
    assert!(reviewed > self_assessed, "{reviewed} vs {self_assessed}");
    assert_eq!(view["reviewed_score"]["level"], "good");
    assert_eq!(view["four_eyes_required"], false);
    let res = post(
        &app,
        &r,
        &format!("/api/v1/reviews/{id}/approve"),
        json!({}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let cert = res.json()["certificate"].clone();
    let number = cert["number"].as_str().unwrap();
    assert!(
        csr_assess::domain::certificate::parse(number).is_some(),
        "{number}"
    );
    assert!(number.starts_with(&format!("CSR-{}-000001-", chrono::Utc::now().format("%Y"))));
    assert_eq!(cert["score"].as_f64().unwrap(), reviewed);
    assert_eq!(cert["signed"]["payload"]["submission_id"], id);
    // The whole certificate, without what changes from run to run.
    insta::assert_json_snapshot!(
        "certificate_issued",
        crate::helpers::redacted(&cert, CHANGING_CERTIFICATE_FIELDS)
    );
    let issued =
        chrono::NaiveDate::parse_from_str(cert["issued_on"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let expires =
        chrono::NaiveDate::parse_from_str(cert["expires_on"].as_str().unwrap(), "%Y-%m-%d")
            .unwrap();
    assert_eq!(
        expires,
        issued.checked_add_months(chrono::Months::new(24)).unwrap()
    );
    // Both scores are kept.
    let review = app
        .get(&format!("/api/v1/reviews/{id}"), Some(&r))
        .await
        .json();
    assert_eq!(
        review["rounds"][0]["reviewed_total"].as_f64().unwrap(),
        reviewed
    );
    assert_eq!(review["submission"]["status"], "approved");
}

/// The enterprise finds its certificate without the reviewer's help: in its list, and on the
/// submission it was issued on, with the status today and the addresses to verify and
/// download it. Another enterprise's list stays empty.
async fn enterprises_find_their_certificates(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let other = app.enterprise().await;
    let id = submitted(&app, &e, "C1491", 2).await;
    let submission = app
        .get(&format!("/api/v1/submissions/{id}"), Some(&e.token))
        .await
        .json();
    assert!(submission["certificate"].is_null(), "{submission}");
    let (_, r) = app.staff("reviewer", json!({})).await;
    let number = approve(&app, &r, id).await["number"]
        .as_str()
        .unwrap()
        .to_owned();

    let listed = app.get("/api/v1/certificates", Some(&e.token)).await.json();
    assert_eq!(listed["next_cursor"], Value::Null);
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    let c = &items[0];
    assert_eq!(
        (c["number"].as_str(), c["status"].as_str()),
        (Some(number.as_str()), Some("active"))
    );
    assert_eq!(c["submission_id"], id);
    for (field, path) in [
        ("verify_url", format!("/verify/{number}")),
        ("json_url", format!("/api/v1/public/certificates/{number}")),
        (
            "pdf_url",
            format!("/api/v1/public/certificates/{number}.pdf"),
        ),
    ] {
        assert_eq!(c[field], path.as_str());
        assert_eq!(app.get(&path, None).await.status, 200, "{path}");
    }
    let submission = app
        .get(&format!("/api/v1/submissions/{id}"), Some(&e.token))
        .await
        .json();
    assert_eq!(&submission["certificate"], c);

    // Suspended, it stays in the list with its new status.
    let admin = app.admin_token().await;
    app.post(
        &format!("/api/v1/certificates/{number}/suspend"),
        Some(&admin),
        &json!({ "reason": "投诉调查" }),
    )
    .await;
    let listed = app.get("/api/v1/certificates", Some(&e.token)).await.json();
    assert_eq!(listed["items"][0]["status"], "suspended");
    let theirs = app
        .get("/api/v1/certificates", Some(&other.token))
        .await
        .json();
    assert_eq!(theirs["items"], json!([]));
    let all = app.get("/api/v1/certificates", Some(&admin)).await.json();
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["number"] == number.as_str())
    );
    app.get("/api/v1/certificates", Some(&r))
        .await
        .problem(403, "forbidden");
}

/// An approval retried with its `Idempotency-Key` (the reviewer's connection dropped before the
/// answer) gets the same certificate back; without the key the retry is refused, and another
/// reviewer's identical key is theirs, not a replay.
async fn a_retried_approval_issues_one_certificate(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let id = submitted(&app, &e, "C1491", 2).await;
    let (_, r) = app.staff("reviewer", json!({})).await;
    claim_and_decide(&app, &r, id).await;
    let path = format!("/api/v1/reviews/{id}/approve");
    let body = serde_json::to_vec(&json!({ "comment": "符合要求" })).unwrap();
    let approve = |token: String, key: &'static str, body: Vec<u8>| {
        let (app, path) = (&app, path.clone());
        async move {
            app.request(
                Method::POST,
                &path,
                Some(&token),
                Some(("application/json", body)),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let first = approve(r.clone(), "approve-1", body.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let again = approve(r.clone(), "approve-1", body.clone()).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(
        again.json()["certificate"]["number"],
        first.json()["certificate"]["number"]
    );
    let other_comment = serde_json::to_vec(&json!({ "comment": "另一条意见" })).unwrap();
    approve(r.clone(), "approve-1", other_comment)
        .await
        .problem(422, "idempotency_key_reused");
    post(&app, &r, &path, json!({ "comment": "符合要求" }))
        .await
        .problem(409, "not_under_review");
    let (_, other) = app.staff("reviewer", json!({})).await;
    let theirs = approve(other, "approve-1", body).await;
    assert_eq!(theirs.status, 409, "{}", theirs.text());
    assert!(theirs.header("idempotent-replayed").is_none());
    let listed = app.get("/api/v1/certificates", Some(&e.token)).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
}

/// A certificate issued to a fresh enterprise, and the folder its files are written to.
struct Issued {
    app: TestApp,
    cert: Value,
}

impl Issued {
    async fn new(b: Backend) -> Self {
        let app = spawn_app(b).await;
        let e = app.enterprise().await;
        let id = submitted(&app, &e, "C1491", 2).await;
        let (_, r) = app.staff("reviewer", json!({})).await;
        let cert = approve(&app, &r, id).await;
        Self { app, cert }
    }

    fn number(&self) -> &str {
        self.cert["number"].as_str().unwrap()
    }

    /// Writes `value` to `file` in the app's folder.
    fn write(&self, file: &str, value: &Value) {
        let path = self.app.dir.path().join(file);
        std::fs::write(path, serde_json::to_vec(value).unwrap()).unwrap();
    }

    /// The issuer's published keys, also written to `keys.json`.
    async fn keys(&self) -> Jwks {
        let keys = self
            .app
            .get("/.well-known/csr-assess/keys.json", None)
            .await
            .json();
        self.write("keys.json", &keys);
        serde_json::from_value(keys).unwrap()
    }

    /// `csr-assess certificate verify <file> --keys keys.json`, offline.
    fn verify_offline(&self, file: &str) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_csr-assess"))
            .args(["certificate", "verify"])
            .arg(self.app.dir.path().join(file))
            .arg("--keys")
            .arg(self.app.dir.path().join("keys.json"))
            .output()
            .unwrap()
    }

    /// `csr-assess certificate verify <file> --online <the app>`, off the test's thread.
    async fn verify_online(&self, file: &str) -> std::process::Output {
        let (path, base) = (self.app.dir.path().join(file), self.app.base.clone());
        actix_web::rt::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_csr-assess"))
                .args(["certificate", "verify"])
                .arg(path)
                .args(["--online", &base])
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    }
}

/// Offline verification against the published keys succeeds, and fails after one changed
/// byte, an unsigned claim inside the payload, another algorithm, a key given twice or a status
/// other than active (the review's F12).
async fn a_certificate_file_verifies_offline_and_forgeries_fail(b: Backend) {
    let t = Issued::new(b).await;
    let cert = &t.cert;
    let jwks = t.keys().await;
    let signed: SignedCertificate = serde_json::from_value(cert["signed"].clone()).unwrap();
    signed.verify(&jwks).unwrap();
    let mut forged = signed.clone();
    forged.payload.enterprise.name.push('X');
    assert!(forged.verify(&jwks).is_err());

    t.write("cert.json", cert);
    let ok = t.verify_offline("cert.json");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let out = String::from_utf8_lossy(&ok.stdout).into_owned();
    assert!(
        out.contains(t.number()) && out.contains("only the signature"),
        "{out}"
    );

    let mut variants: Vec<(&str, String)> = Vec::new();
    let mut changed = cert.clone();
    changed["signed"]["payload"]["level"] = json!("exemplary");
    variants.push(("changed", changed.to_string()));
    let mut extra = cert.clone();
    extra["signed"]["payload"]["extra_claim"] = json!("officially endorsed");
    variants.push(("extra", extra.to_string()));
    let mut none = cert.clone();
    none["signed"]["alg"] = json!("none");
    variants.push(("alg", none.to_string()));
    let text = cert.to_string();
    let level = format!("\"level\":{}", cert["signed"]["payload"]["level"]);
    assert!(text.contains(&level), "{text}");
    let duplicated = text.replacen(&level, &format!("{level},\"level\":\"exemplary\""), 1);
    variants.push(("duplicate", duplicated));
    let mut revoked = cert.clone();
    revoked["status"] = json!("revoked");
    variants.push(("revoked", revoked.to_string()));
    for (name, text) in variants {
        std::fs::write(t.app.dir.path().join("variant.json"), text).unwrap();
        let out = t.verify_offline("variant.json");
        assert!(
            !out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// Online, the issuer is asked for the status now (with its published keys): active, then
/// refused once an administrator suspends the certificate; a certificate the issuer does not
/// hold as signed is refused too.
async fn online_verification_asks_the_issuer_for_the_status(b: Backend) {
    let t = Issued::new(b).await;
    t.keys().await;
    t.write("cert.json", &t.cert);
    let out = t.verify_online("cert.json").await;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.contains("status at") && text.contains("active"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Signed with the issuer's own key (as after a key theft) but not what it issued: the
    // signature holds offline, the issuer's record does not match.
    let mut other = t.cert.clone();
    other["signed"]["payload"]["score"] = json!(99.5);
    let payload = serde_json::from_value(other["signed"]["payload"].clone()).unwrap();
    let message = csr_assess::certification::signed_message(&payload).unwrap();
    let (_, signature) = t.app.state.signing.sign(message.as_bytes());
    other["signed"]["signature"] = json!(signature);
    t.write("other.json", &other);
    assert!(
        t.verify_offline("other.json").status.success(),
        "offline, it verifies"
    );
    let out = t.verify_online("other.json").await;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success() && err.contains("different certificate"),
        "{err}"
    );

    let admin = t.app.admin_token().await;
    let res = t
        .app
        .post(
            &format!("/api/v1/certificates/{}/suspend", t.number()),
            Some(&admin),
            &json!({ "reason": "投诉调查" }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let out = t.verify_online("cert.json").await;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success() && err.contains("suspended"), "{err}");
}

/// The independent verifier of docs/VERIFYING.md (Python, RFC 8785 from PyPI), run exactly as
/// the document says, against the issuer's URLs: it accepts a real certificate and rejects the
/// same certificate with one byte changed.
async fn an_independent_verifier_in_python_agrees(b: Backend) {
    let Some(python) = crate::helpers::python_with("rfc8785, cryptography") else {
        return;
    };
    let t = Issued::new(b).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/verify_certificate.py");
    let run = |certificate: String, keys: String| {
        let python = python.clone();
        actix_web::rt::task::spawn_blocking(move || {
            std::process::Command::new(python)
                .args([script, &certificate, &keys])
                .output()
                .unwrap()
        })
    };
    let certificate = format!("{}/api/v1/public/certificates/{}", t.app.base, t.number());
    let keys = format!("{}/.well-known/csr-assess/keys.json", t.app.base);
    let out = run(certificate.clone(), keys.clone()).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.starts_with("VALID") && text.contains(t.number()),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // One byte of the signed content changed: a digit of the issue date.
    let served = t
        .app
        .get(&certificate[t.app.base.len()..], None)
        .await
        .text();
    let signed_at = served.find("\"signed\"").expect("signed");
    let key = "\"issued_on\":\"";
    let date_at = signed_at + served[signed_at..].find(key).unwrap() + key.len();
    let mut bytes = served.into_bytes();
    bytes[date_at] = if bytes[date_at] == b'9' {
        b'8'
    } else {
        bytes[date_at] + 1
    };
    let changed = t.app.dir.path().join("changed.json");
    std::fs::write(&changed, bytes).unwrap();
    let out = run(changed.display().to_string(), keys).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.code() == Some(1) && text.contains("does not match"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn exemplary_needs_four_eyes(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let id = submitted(&app, &e, "C1491", 4).await;
    let (_, first) = app.staff("reviewer", json!({})).await;
    let (_, second) = app.staff("reviewer", json!({})).await;
    post(
        &app,
        &second,
        &format!("/api/v1/reviews/{id}/approve"),
        json!({}),
    )
    .await
    .problem(409, "not_under_review");
    let view = post(
        &app,
        &first,
        &format!("/api/v1/reviews/{id}/claim"),
        json!({}),
    )
    .await
    .json();
    assert_eq!(view["reviewed_score"]["level"], "exemplary");
    assert_eq!(view["four_eyes_required"], true);
    decide_gates(&app, &first, id).await;
    // The second reviewer cannot go first.
    post(
        &app,
        &second,
        &format!("/api/v1/reviews/{id}/approve"),
        json!({}),
    )
    .await
    .problem(409, "claimed_by_another");
    let res = post(
        &app,
        &first,
        &format!("/api/v1/reviews/{id}/approve"),
        json!({}),
    )
    .await;
    assert_eq!(res.status, 202, "{}", res.text());
    assert_eq!(res.json()["status"], "awaiting_second_approval");
    // Changing a verdict withdraws the first approval: the second reviewer cannot approve what
    // the first did not.
    let res = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/reviews/{id}/verdicts/lawful.staff_training"),
            Some(&first),
            &json!({ "verdict": "adjust", "points": 1.0, "reason": "培训记录完整" }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["rounds"][0]["first_approver_id"], Value::Null);
    // Logged once: the verdicts given before the first approval withdrew nothing.
    let withdrawals = app
        .audit_of_submission(id)
        .await
        .iter()
        .filter(|e| e.action == "review.first_approval_withdrawn")
        .count();
    assert_eq!(withdrawals, 1);
    post(
        &app,
        &second,
        &format!("/api/v1/reviews/{id}/approve"),
        json!({}),
    )
    .await
    .problem(409, "claimed_by_another");
    let res = post(
        &app,
        &first,
        &format!("/api/v1/reviews/{id}/approve"),
        json!({}),
    )
    .await;
    assert_eq!(res.status, 202, "{}", res.text());
    post(
        &app,
        &first,
        &format!("/api/v1/reviews/{id}/approve"),
        json!({}),
    )
    .await
    .problem(409, "second_approver_required");
    let res = post(
        &app,
        &second,
        &format!("/api/v1/reviews/{id}/approve"),
        json!({}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["certificate"]["level"], "exemplary");
}

/// The review's F4: a reviewer affiliated with an enterprise touches neither its certificates
/// nor those of its competitors (same industry division), and an administrator's suspension is
/// lifted only by an administrator.
async fn conflicted_reviewers_leave_certificates_alone(b: Backend) {
    let app = spawn_app(b).await;
    let alpha = app.enterprise().await;
    let beta = app.enterprise().await;
    let gamma = app
        .enterprise_with(json!({ "industry_code": "F5211" }))
        .await;
    let (_, national) = app.staff("reviewer", json!({})).await;
    let (_, affiliated) = app
        .staff(
            "reviewer",
            json!({ "region_scope": "33", "enterprise_id": alpha.id }),
        )
        .await;
    let admin = app.admin_token().await;
    let mut numbers = Vec::new();
    for (e, industry) in [(&alpha, "C1491"), (&beta, "C1491"), (&gamma, "F5211")] {
        let id = submitted(&app, e, industry, 2).await;
        if e.id == beta.id {
            // Claiming a competitor's self-assessment is refused like certifying it.
            post(
                &app,
                &affiliated,
                &format!("/api/v1/reviews/{id}/claim"),
                json!({}),
            )
            .await
            .problem(403, "forbidden");
            // Nor can the reviewer read it or find it in the queue.
            app.get(&format!("/api/v1/submissions/{id}"), Some(&affiliated))
                .await
                .problem(404, "not_found");
            let queue = app
                .get("/api/v1/reviews/queue", Some(&affiliated))
                .await
                .json();
            let listed = queue["items"].as_array().unwrap();
            assert!(listed.iter().all(|i| i["submission_id"] != id), "{queue}");
        }
        let cert = approve(&app, &national, id).await;
        numbers.push(cert["number"].as_str().unwrap().to_owned());
    }
    let change = |number: &str, action: &str, token: &str| {
        let path = format!("/api/v1/certificates/{number}/{action}");
        let token = token.to_owned();
        let app = &app;
        async move { post(app, &token, &path, json!({ "reason": "检查发现问题" })).await }
    };
    let (a, b_, g) = (&numbers[0], &numbers[1], &numbers[2]);
    assert_eq!(
        change(a, "suspend", &admin).await.json()["status"],
        "suspended"
    );
    change(a, "reinstate", &affiliated)
        .await
        .problem(403, "forbidden");
    change(b_, "suspend", &affiliated)
        .await
        .problem(403, "forbidden");
    change(b_, "revoke", &affiliated)
        .await
        .problem(403, "forbidden");
    // Another industry division in the reviewer's region is theirs to act on.
    assert_eq!(
        change(g, "suspend", &affiliated).await.json()["status"],
        "suspended"
    );
    assert_eq!(
        change(g, "reinstate", &affiliated).await.json()["status"],
        "active"
    );
    // The administrator's suspension of Alpha stands until an administrator lifts it.
    change(a, "reinstate", &national)
        .await
        .problem(403, "forbidden");
    assert_eq!(
        change(a, "reinstate", &admin).await.json()["status"],
        "active"
    );
    let public = app
        .get(&format!("/api/v1/public/certificates/{b_}"), None)
        .await
        .json();
    assert_eq!(public["status"], "active");
}

/// The review's F13: an enterprise is certified only after a reviewer or an administrator has
/// checked its business licence (one of its own evidence files) against its credit code.
async fn unverified_enterprises_are_not_certified(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let other = app.enterprise().await;
    let id = crate::helpers::submitted_unverified(&app, &e, "C1491", 2).await;
    let other_id = crate::helpers::submitted_unverified(&app, &other, "C1491", 2).await;
    let (_, reviewer) = app.staff("reviewer", json!({ "region_scope": "33" })).await;
    let (_, far) = app.staff("reviewer", json!({ "region_scope": "11" })).await;
    let view = post(
        &app,
        &reviewer,
        &format!("/api/v1/reviews/{id}/claim"),
        json!({}),
    )
    .await
    .json();
    assert_eq!(view["enterprise_verified"], false);
    decide_gates(&app, &reviewer, id).await;
    post(
        &app,
        &reviewer,
        &format!("/api/v1/reviews/{id}/approve"),
        json!({ "comment": "符合要求" }),
    )
    .await
    .problem(409, "enterprise_unverified");

    let files = |s: i64, token: String| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/submissions/{s}/evidence"), Some(&token))
                .await
                .json()["items"][0]["id"]
                .as_i64()
                .unwrap()
        }
    };
    let own = files(id, e.token.clone()).await;
    let foreign = files(other_id, other.token.clone()).await;
    let path = format!("/api/v1/enterprises/{}/verify", e.id);
    post(&app, &e.token, &path, json!({ "evidence_id": own }))
        .await
        .problem(403, "forbidden");
    post(&app, &far, &path, json!({ "evidence_id": own }))
        .await
        .problem(404, "not_found");
    let res = post(&app, &reviewer, &path, json!({ "evidence_id": foreign })).await;
    assert_eq!(res.invalid_fields(), ["evidence_id"]);
    let res = post(
        &app,
        &reviewer,
        &path,
        json!({ "evidence_id": own, "note": "营业执照与信用代码一致" }),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["verified"], true);
    let mine = app
        .get(&format!("/api/v1/enterprises/{}", e.id), Some(&e.token))
        .await
        .json();
    assert_eq!(mine["verified"], true);
    let res = post(
        &app,
        &reviewer,
        &format!("/api/v1/reviews/{id}/approve"),
        json!({ "comment": "符合要求" }),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
}

async fn certificate_status_changes_and_supersession(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let (_, r) = app.staff("reviewer", json!({})).await;
    let id = submitted(&app, &e, "C1491", 2).await;
    let cert = approve(&app, &r, id).await;
    let number = cert["number"].as_str().unwrap().to_owned();
    let public = |n: String| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/public/certificates/{n}"), None)
                .await
                .json()
        }
    };
    let change = |action: &'static str, token: String| {
        let (app, n) = (&app, number.clone());
        async move {
            app.post(
                &format!("/api/v1/certificates/{n}/{action}"),
                Some(&token),
                &json!({ "reason": "检查发现问题" }),
            )
            .await
        }
    };
    // Only the association changes status.
    change("suspend", e.token.clone())
        .await
        .problem(403, "forbidden");
    assert_eq!(
        change("suspend", r.clone()).await.json()["status"],
        "suspended"
    );
    assert_eq!(public(number.clone()).await["status"], "suspended");
    change("suspend", r.clone())
        .await
        .problem(409, "invalid_transition");
    assert_eq!(
        change("reinstate", r.clone()).await.json()["status"],
        "active"
    );
    let admin = app.admin_token().await;
    assert_eq!(
        change("revoke", admin.clone()).await.json()["status"],
        "revoked"
    );
    change("reinstate", admin.clone())
        .await
        .problem(409, "invalid_transition");
    let res = app
        .post(
            &format!("/api/v1/certificates/{number}/revoke"),
            Some(&admin),
            &json!({ "reason": " " }),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["reason"]);

    // A new certificate supersedes the enterprise's active one.
    let id2 = submitted(&app, &e, "C1491", 2).await;
    let second = approve(&app, &r, id2).await;
    let id3 = submitted(&app, &e, "C1491", 2).await;
    let third = approve(&app, &r, id3).await;
    assert_eq!(
        public(second["number"].as_str().unwrap().to_owned()).await["status"],
        "superseded"
    );
    assert_eq!(
        public(third["number"].as_str().unwrap().to_owned()).await["status"],
        "active"
    );
    // Their history: the second issued, then superseded by the third, which is issued after.
    let numbers = [&second, &third].map(|c| c["number"].as_str().unwrap().to_owned());
    let wanted = numbers.clone();
    let history = app
        .state
        .db
        .read(move |conn| {
            use csr_assess::db::schema::{certificate_events as ev, certificates as c};
            use diesel::prelude::*;
            let ids: Vec<(i64, String)> = c::table
                .filter(c::number.eq_any(wanted))
                .select((c::id, c::number))
                .load(conn)?;
            let events: Vec<(i64, String, Option<String>)> = ev::table
                .filter(ev::certificate_id.eq_any(ids.iter().map(|(id, _)| *id)))
                .order(ev::id)
                .select((ev::certificate_id, ev::action, ev::reason))
                .load(conn)?;
            let number = |id: i64| ids.iter().find(|(i, _)| *i == id).unwrap().1.clone();
            Ok(events
                .into_iter()
                .map(|(id, action, reason)| (number(id), action, reason))
                .collect::<Vec<_>>())
        })
        .await
        .unwrap();
    let superseded_by = format!("superseded by {}", numbers[1]);
    assert_eq!(
        history,
        [
            (numbers[0].clone(), "issued".to_owned(), None),
            (
                numbers[0].clone(),
                "superseded".to_owned(),
                Some(superseded_by)
            ),
            (numbers[1].clone(), "issued".to_owned(), None),
        ]
    );
    // Expiry is derived from the date.
    let n3 = third["number"].as_str().unwrap().to_owned();
    let n = n3.clone();
    app.state
        .db
        .write(move |conn| {
            use csr_assess::db::schema::certificates::dsl::*;
            use diesel::prelude::*;
            diesel::update(certificates.filter(number.eq(&n)))
                .set(expires_on.eq("2020-01-01"))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(public(n3).await["status"], "expired");
    // Every change is audited.
    let entries = app
        .state
        .db
        .read(move |conn| csr_assess::db::audit::for_entity(conn, "certificate", &number))
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "certificate.issued",
            "certificate.suspended",
            "certificate.reinstated",
            "certificate.revoked"
        ]
    );
}

async fn one_certificate_from_twenty_concurrent_approvals(b: Backend) {
    let app = spawn_app_with(b, |s| s.workers = Some(4)).await;
    let other = spawn_sibling(&app, |s| s.workers = Some(4)).await;
    let e = app.enterprise().await;
    let id = submitted(&app, &e, "C1491", 2).await;
    let (_, r) = app.staff("reviewer", json!({})).await;
    claim_and_decide(&app, &r, id).await;
    let path = format!("/api/v1/reviews/{id}/approve");
    let body = serde_json::to_vec(&json!({})).unwrap();
    let requests = (0..20).map(|i| {
        let target = if i % 2 == 0 { &app } else { &other };
        target.request(
            Method::POST,
            &path,
            Some(&r),
            Some(("application/json", body.clone())),
            &[],
        )
    });
    let responses = futures_util::future::join_all(requests).await;
    let ok: Vec<_> = responses.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        ok.len(),
        1,
        "{:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for res in responses.iter().filter(|r| r.status != 200) {
        res.problem(409, "not_under_review");
    }
    let count = app
        .state
        .db
        .read(|conn| {
            use csr_assess::db::schema::certificates::dsl::*;
            use diesel::prelude::*;
            Ok(certificates.count().get_result::<i64>(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(count, 1);
}

/// Approvals of different submissions at the same moment, over two instances, each get their
/// own certificate number.
async fn concurrent_approvals_number_certificates_apart(b: Backend) {
    let app = spawn_app_with(b, |s| s.workers = Some(4)).await;
    let other = spawn_sibling(&app, |s| s.workers = Some(4)).await;
    let (_, r) = app.staff("reviewer", json!({})).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        let e = app.enterprise().await;
        let id = submitted(&app, &e, "C1491", 2).await;
        claim_and_decide(&app, &r, id).await;
        ids.push(id);
    }
    let body = serde_json::to_vec(&json!({})).unwrap();
    let paths: Vec<String> = ids
        .iter()
        .map(|id| format!("/api/v1/reviews/{id}/approve"))
        .collect();
    let requests = paths.iter().enumerate().map(|(i, path)| {
        let target = if i % 2 == 0 { &app } else { &other };
        target.request(
            Method::POST,
            path,
            Some(&r),
            Some(("application/json", body.clone())),
            &[],
        )
    });
    let responses = futures_util::future::join_all(requests).await;
    let mut numbers: Vec<String> = responses
        .iter()
        .map(|res| {
            assert_eq!(res.status, 200, "{}", res.text());
            res.json()["certificate"]["number"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 6, "{numbers:?}");
}

async fn public_pages_and_directory(b: Backend) {
    let app = spawn_app(b).await;
    let e = app
        .enterprise_with(json!({ "name": "杭州放心食品有限公司" }))
        .await;
    let f = app
        .enterprise_with(
            json!({ "name": "北京示例银行", "region_code": "110101", "industry_code": "J6621" }),
        )
        .await;
    let (_, r) = app.staff("reviewer", json!({})).await;
    let id = submitted(&app, &e, "C1491", 2).await;
    let active = approve(&app, &r, id).await["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = submitted(&app, &f, "J6621", 2).await;
    let revoked = approve(&app, &r, id).await["number"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/api/v1/certificates/{revoked}/revoke"),
        Some(&r),
        &json!({ "reason": "虚假材料" }),
    )
    .await;

    let page = app.get(&format!("/verify/{active}"), None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text();
    for text in [
        "证书验证",
        "杭州放心食品有限公司",
        "有效",
        "良好",
        "验证通过",
        active.as_str(),
        "width=device-width",
    ] {
        assert!(html.contains(text), "{text} missing");
    }
    // The page names its machine-readable twin, in the head and in a header.
    let json_url = format!("/api/v1/public/certificates/{active}");
    assert!(
        html.contains(&format!(
            r#"<link rel="alternate" type="application/json" href="{json_url}">"#
        )),
        "{html}"
    );
    let link = page.header("link").expect("Link header");
    assert!(link.starts_with(&format!("<{json_url}>")), "{link}");
    assert_eq!(
        app.get(&json_url, None).await.json()["number"],
        active.as_str()
    );
    let en = app
        .get(&format!("/verify/{active}?lang=en"), None)
        .await
        .text();
    assert!(en.contains("VALID") && en.contains("Good"), "{en}");
    let by_header = app
        .request(
            Method::GET,
            &format!("/verify/{active}"),
            None,
            None,
            &[("accept-language", "en-GB,en;q=0.8")],
        )
        .await;
    assert!(by_header.text().contains("Certificate verification"));
    let html = app.get(&format!("/verify/{revoked}"), None).await.text();
    assert!(
        html.contains("已撤销") && html.contains("class=\"status bad\""),
        "{html}"
    );
    let missing = app.get("/verify/CSR-2026-999999-0", None).await;
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("未找到证书"));
    assert_eq!(app.get("/verify/%3Cscript%3E", None).await.status, 404);
    app.get("/api/v1/public/certificates/CSR-1", None)
        .await
        .problem(404, "not_found");

    // The directory lists active certificates only, and filters.
    let list = app.get("/api/v1/public/certificates", None).await.json();
    let numbers: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, [active.as_str()]);
    assert_eq!(
        app.get("/api/v1/public/certificates?industry=J", None)
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.get(
            "/api/v1/public/certificates?region=33&q=%E6%94%BE%E5%BF%83",
            None
        )
        .await
        .json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.get("/api/v1/public/certificates?region=99", None)
        .await
        .invalid_fields();
    let html = app.get("/directory", None).await.text();
    assert!(
        html.contains("评价证书有效企业名录") && html.contains(&active) && !html.contains(&revoked)
    );
}
