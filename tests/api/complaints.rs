//! Complaint reconciliation: intake (idempotent), the workflow to each end state with deadlines
//! on a fixed calendar, reminders and escalation, who sees what, the consumer's personal data
//! sealed, audited and erased, group-complaint incidents and liaison units.

use actix_web::http::Method;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, Enterprise, TestApp, assert_invisible, spawn_app_with, spawn_sibling,
};

const PHONE: &str = "13912345678";
const EMAIL: &str = "wang.consumer.unique@example.com";
const NAME: &str = "王某某";
const WORDS: &str = "购买的冰箱第三天就不制冷了，门店拒绝退换。独特描述XYZ";

/// A calendar fixed around today (in China): the next two days are holidays and every
/// weekend day of the ten after them is worked, so that whatever the weekday, the third
/// working day after today is today + 5 and the first is today + 3.
struct Fixed {
    today: NaiveDate,
    /// When the consumer complained, ten days before the intake: deadlines do not count from
    /// it.
    received: NaiveDate,
    json: String,
    /// Holds the calendar file while the test runs (a sibling instance reads it too).
    dir: Option<tempfile::TempDir>,
}

fn fixed_calendar() -> Fixed {
    let t = crate::helpers::china_today();
    let day = |n: i64| t + Duration::days(n);
    let weekends: Vec<String> = (3..=12)
        .map(day)
        .filter(|d| matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .map(|d| d.to_string())
        .collect();
    let json = json!({
        "name": "test calendar",
        "covers": { "from": day(-400).to_string(), "to": day(400).to_string() },
        "holidays": [day(1).to_string(), day(2).to_string()],
        "working_weekends": weekends,
    })
    .to_string();
    Fixed {
        today: t,
        received: day(-10),
        json,
        dir: None,
    }
}

async fn complaint_app(
    b: Backend,
    tweak: impl FnOnce(&mut csr_assess::config::Settings),
) -> (TestApp, Fixed) {
    let mut cal = fixed_calendar();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calendar.json");
    std::fs::write(&path, &cal.json).unwrap();
    let app = spawn_app_with(b, |s| {
        s.calendar_file = Some(path);
        s.complaint_sweep_secs = 0;
        s.webhook_poll_ms = 0;
        s.webhook_allowed_hosts = vec!["127.0.0.1".into()];
        tweak(s);
    })
    .await;
    cal.dir = Some(dir);
    (app, cal)
}

fn intake(e_code: &str, received_on: Option<NaiveDate>) -> Value {
    json!({
        "credit_code": e_code,
        "category": "after_sales",
        "channel": "hotline",
        "amount_fen": 459_900,
        "description": WORDS,
        "contact": { "name": NAME, "phone": PHONE, "email": EMAIL },
        "received_on": received_on,
    })
}

/// An enterprise in Hangzhou (330106) with its credit code.
async fn enterprise(app: &TestApp) -> (Enterprise, String) {
    let code = crate::helpers::credit_code();
    let e = app.enterprise_with(json!({ "credit_code": code })).await;
    (e, code)
}

async fn new_officer(app: &TestApp, region: &str) -> (i64, String) {
    app.staff("complaint_officer", json!({ "region_scope": region }))
        .await
}

async fn webhook(app: &TestApp, e: &Enterprise) {
    let types = [
        "complaint.forwarded",
        "complaint.acknowledged",
        "complaint.proposed",
        "complaint.answered",
        "complaint.closed",
        "complaint.reopened",
        "complaint.deadline_near",
        "complaint.escalated",
        "complaint_incident.opened",
    ];
    let res = app
        .post(
            "/api/v1/webhooks",
            Some(&e.token),
            &json!({ "url": "http://127.0.0.1:9/hook", "event_types": types }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
}

/// The event types in the outbox, oldest first, with their payloads.
async fn events(app: &TestApp) -> Vec<(String, String)> {
    app.state
        .db
        .read(|conn| {
            use csr_assess::db::schema::webhook_events as ev;
            use diesel::prelude::*;
            Ok(ev::table
                .order(ev::id)
                .select((ev::event_type, ev::payload))
                .load::<(String, String)>(conn)?)
        })
        .await
        .unwrap()
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    app.state
        .db
        .read(|conn| {
            use csr_assess::db::schema::audit_log as a;
            use diesel::prelude::*;
            Ok(a::table
                .order(a::seq)
                .select(a::action)
                .load::<String>(conn)?)
        })
        .await
        .unwrap()
}

async fn sweep(app: &TestApp, today: NaiveDate) -> (usize, usize, usize) {
    let s = csr_assess::complaints::sweep(&app.state, today)
        .await
        .unwrap();
    (s.reminded, s.escalated, s.erased)
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let res = app.post(path, Some(token), &body).await;
    assert_eq!(res.status, 200, "{path}: {}", res.text());
    res.json()
}

async fn a_complaint_walks_to_each_end_state(b: Backend) {
    let (app, cal) = complaint_app(b, |_| {}).await;
    let (e, code) = enterprise(&app).await;
    webhook(&app, &e).await;
    let (_, officer) = new_officer(&app, "33").await;
    let t = cal.today;

    let res = app
        .post(
            "/api/v1/complaints",
            Some(&officer),
            &intake(&code, Some(cal.received)),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let c = res.json();
    let id = c["id"].as_i64().unwrap();
    assert_eq!(
        res.header("location").unwrap(),
        format!("/api/v1/complaints/{id}")
    );
    assert_eq!(c["state"], "forwarded");
    // Counted from the intake, not from when the consumer complained: two holidays, then
    // three working days.
    assert_eq!(c["received_on"], cal.received.to_string());
    assert_eq!(c["acknowledge_due"], (t + Duration::days(5)).to_string());
    assert_eq!(c["running_against"], "acknowledge");
    assert!(
        c.get("contact").is_none() && c.get("description").is_none(),
        "{c}"
    );
    assert!(!c.to_string().contains(PHONE));

    // Reminders and escalation, by the calendar: nothing today (the deadline is three working
    // days away), a reminder the day before it (the next working day), once; escalation the
    // day after it, once.
    let path = format!("/api/v1/complaints/{id}");
    assert_eq!(sweep(&app, t).await, (0, 0, 0));
    assert_eq!(sweep(&app, t + Duration::days(4)).await, (1, 0, 0));
    assert_eq!(sweep(&app, t + Duration::days(4)).await, (0, 0, 0));
    assert_eq!(sweep(&app, t + Duration::days(6)).await, (0, 1, 0));
    assert_eq!(sweep(&app, t + Duration::days(7)).await, (0, 0, 0));
    let c = app.get(&path, Some(&officer)).await.json();
    assert_eq!(c["escalated_stage"], "acknowledge");
    assert_eq!(c["overdue"], false, "today is before the deadline");
    let overdue = app
        .get("/api/v1/complaints?overdue=true", Some(&officer))
        .await
        .json();
    assert_eq!(overdue["items"], json!([]));
    let types: Vec<String> = events(&app).await.into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        types,
        [
            "complaint.forwarded",
            "complaint.deadline_near",
            "complaint.escalated"
        ]
    );

    // Staff cannot act for the enterprise, nor skip steps.
    let res = app
        .post(&format!("{path}/close"), Some(&officer), &json!({}))
        .await;
    res.problem(409, "invalid_transition");
    let c = post(&app, &format!("{path}/acknowledge"), &e.token, json!({})).await;
    assert_eq!(c["state"], "acknowledged");
    assert_eq!(c["running_against"], "proposal");
    assert_eq!(c["overdue"], false);
    let res = app
        .post(&format!("{path}/acknowledge"), Some(&e.token), &json!({}))
        .await;
    res.problem(409, "invalid_transition");
    let res = app
        .post(
            &format!("{path}/proposal"),
            Some(&e.token),
            &json!({ "proposal": " " }),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["proposal"]);
    let c = post(
        &app,
        &format!("{path}/proposal"),
        &e.token,
        json!({ "proposal": "全额退款并上门取回冰箱。" }),
    )
    .await;
    assert_eq!(c["state"], "proposed");
    let c = post(
        &app,
        &format!("{path}/answer"),
        &officer,
        json!({ "accepted": true }),
    )
    .await;
    assert_eq!(c["state"], "reconciled");
    let c = post(&app, &format!("{path}/close"), &officer, json!({})).await;
    assert_eq!(
        (c["state"].as_str(), c["outcome"].as_str()),
        (Some("closed"), Some("reconciled"))
    );
    assert!(c["reopen_until"].is_string());

    // Reopened within the window: the enterprise proposes again; the consumer rejects it
    // (a reason is required) and the complaint is referred to mediation.
    let res = app
        .post(&format!("{path}/reopen"), Some(&officer), &json!({}))
        .await;
    assert_eq!(res.invalid_fields(), ["reason"]);
    let c = post(
        &app,
        &format!("{path}/reopen"),
        &officer,
        json!({ "reason": "消费者称未收到退款" }),
    )
    .await;
    assert_eq!(
        (c["state"].as_str(), c["reopened"].as_i64()),
        (Some("acknowledged"), Some(1))
    );
    assert!(c["proposal"].is_null() && c["escalated_stage"].is_null());
    post(
        &app,
        &format!("{path}/proposal"),
        &e.token,
        json!({ "proposal": "退款50%" }),
    )
    .await;
    let res = app
        .post(
            &format!("{path}/answer"),
            Some(&officer),
            &json!({ "accepted": false }),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["reason"]);
    let c = post(
        &app,
        &format!("{path}/answer"),
        &officer,
        json!({ "accepted": false, "reason": "消费者要求全额退款，转人民调解" }),
    )
    .await;
    assert_eq!(c["state"], "not_reconciled");
    let c = post(&app, &format!("{path}/close"), &officer, json!({})).await;
    assert_eq!(c["outcome"], "not_reconciled");

    // After the window, no reopening.
    app.state
        .db
        .write(move |conn| {
            use csr_assess::db::schema::complaint_cases as cc;
            use diesel::prelude::*;
            diesel::update(cc::table.find(id))
                .set(cc::reopen_until.eq(Some(t - Duration::days(1))))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let res = app
        .post(
            &format!("{path}/reopen"),
            Some(&officer),
            &json!({ "reason": "again" }),
        )
        .await;
    let p = res.problem(409, "invalid_transition");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains(&(t - Duration::days(1)).to_string()),
        "{p}"
    );

    // Every step is in the audit log and went out as an event.
    let actions = audit_actions(&app).await;
    for a in [
        "complaint.recorded",
        "complaint.escalated",
        "complaint.acknowledged",
        "complaint.proposed",
        "complaint.reconciled",
        "complaint.closed",
        "complaint.reopened",
        "complaint.not_reconciled",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} not in {actions:?}");
    }
    let types: Vec<String> = events(&app).await.into_iter().map(|(t, _)| t).collect();
    for t in [
        "complaint.acknowledged",
        "complaint.proposed",
        "complaint.answered",
        "complaint.closed",
        "complaint.reopened",
    ] {
        assert!(types.iter().any(|x| x == t), "{t} not in {types:?}");
    }

    // The quarter's measures: one complaint, acknowledged on time, rejected in the end, closed.
    let r = cal.received;
    let quarter = format!("{}Q{}", r.year(), (r.month() - 1) / 3 + 1);
    let m = app
        .get(
            &format!(
                "/api/v1/enterprises/{}/complaint-measures?quarter={quarter}",
                e.id
            ),
            Some(&e.token),
        )
        .await
        .json();
    assert_eq!(m["received"], 1, "{m}");
    assert_eq!(
        (
            m["acknowledged"].as_i64(),
            m["acknowledged_on_time"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(m["not_reconciled"], 1);
    assert_eq!(m["closed"], 1);
    let res = app
        .get(
            &format!(
                "/api/v1/enterprises/{}/complaint-measures?quarter=2026Q5",
                e.id
            ),
            Some(&e.token),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["quarter"]);
}

async fn nobody_else_sees_a_complaint(b: Backend) {
    let (app, _calendar) = complaint_app(b, |_| {}).await;
    let (e, code) = enterprise(&app).await;
    let (other, _) = enterprise(&app).await;
    let other_member = app.member_token(&other).await;
    let (_, platform) = app.staff("complaint_platform", json!({})).await;
    let (_, other_platform) = app.staff("complaint_platform", json!({})).await;
    let (_, beijing) = new_officer(&app, "11").await;
    let (_, industry) = app
        .staff("industry_body", json!({ "industry_scopes": ["C"] }))
        .await;

    let res = app
        .post("/api/v1/complaints", Some(&platform), &intake(&code, None))
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let id = res.json()["id"].as_i64().unwrap();
    let path = format!("/api/v1/complaints/{id}");
    let missing = "/api/v1/complaints/999999";
    for token in [&other.token, &other_member, &other_platform, &beijing] {
        assert_invisible(&app, token, Method::GET, &path, missing).await;
        if token != &other_platform {
            let (p, m) = (
                format!("{path}/personal-data"),
                format!("{missing}/personal-data"),
            );
            assert_invisible(&app, token, Method::GET, &p, &m).await;
        }
        let list = app.get("/api/v1/complaints", Some(token)).await.json();
        assert_eq!(list["items"], json!([]), "{list}");
    }
    // An industry body is refused the routes whatever the complaint (the same answer for a
    // missing one); an anonymous caller too.
    for p in [path.as_str(), missing] {
        let res = app.get(p, Some(&industry)).await;
        res.problem(403, "forbidden");
        app.get(p, None).await.problem(401, "missing_token");
    }
    app.get("/api/v1/complaints", Some(&industry))
        .await
        .problem(403, "forbidden");
    // A Beijing officer cannot file against a Hangzhou enterprise.
    let res = app
        .post("/api/v1/complaints", Some(&beijing), &intake(&code, None))
        .await;
    assert_eq!(res.invalid_fields(), ["credit_code"]);
    // The platform follows what it sent, but the consumer's data is not its to read back.
    assert_eq!(app.get(&path, Some(&platform)).await.status, 200);
    app.get(&format!("{path}/personal-data"), Some(&platform))
        .await
        .problem(403, "forbidden");
    // A reviewer who belongs to the enterprise, or to a competitor of it (same industry
    // division), neither sees its complaints nor files against it.
    let (rival, _) = enterprise(&app).await;
    for affiliation in [e.id, rival.id] {
        let (_, insider) = app
            .staff("reviewer", json!({ "enterprise_id": affiliation }))
            .await;
        assert_invisible(&app, &insider, Method::GET, &path, missing).await;
        let list = app.get("/api/v1/complaints", Some(&insider)).await.json();
        assert_eq!(list["items"], json!([]), "{list}");
        let res = app
            .post("/api/v1/complaints", Some(&insider), &intake(&code, None))
            .await;
        assert_eq!(res.invalid_fields(), ["credit_code"]);
    }
    // The enterprise's users see it.
    let list = app.get("/api/v1/complaints", Some(&e.token)).await.json();
    assert_eq!(list["items"][0]["id"], id);
}

async fn personal_data_is_sealed_audited_and_erased(b: Backend) {
    let (app, cal) = complaint_app(b, |s| {
        s.complaint_retention_days = 30;
        s.complaint_idle_days = 60;
    })
    .await;
    let (e, code) = enterprise(&app).await;
    webhook(&app, &e).await;
    let (officer_id, officer) = new_officer(&app, "3301").await;
    let (_, colleague) = new_officer(&app, "33").await;
    let res = app
        .request(
            Method::POST,
            "/api/v1/complaints",
            Some(&officer),
            Some((
                "application/json",
                serde_json::to_vec(&intake(&code, Some(cal.received))).unwrap(),
            )),
            &[("Idempotency-Key", "pii-check-1")],
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let c = res.json();
    let id = c["id"].as_i64().unwrap();
    assert_eq!(c["officer_id"], officer_id);
    let path = format!("/api/v1/complaints/{id}");

    // The enterprise and the officer on the case read it; each read is audited.
    let res = app
        .get(&format!("{path}/personal-data"), Some(&e.token))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
    let p = res.json();
    assert_eq!(
        p["contact"],
        json!({ "name": NAME, "phone": PHONE, "email": EMAIL })
    );
    assert_eq!(p["description"], WORDS);
    assert_eq!(
        app.get(&format!("{path}/personal-data"), Some(&officer))
            .await
            .status,
        200
    );
    // A colleague of the region is not on the case until taking it.
    app.get(&format!("{path}/personal-data"), Some(&colleague))
        .await
        .problem(409, "not_on_case");
    post(&app, &format!("{path}/take"), &colleague, json!({})).await;
    assert_eq!(
        app.get(&format!("{path}/personal-data"), Some(&colleague))
            .await
            .status,
        200
    );
    app.get(&format!("{path}/personal-data"), Some(&officer))
        .await
        .problem(409, "not_on_case");
    let actions = audit_actions(&app).await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "complaint.personal_data_read")
            .count(),
        3,
        "{actions:?}"
    );
    assert!(actions.iter().any(|a| a == "complaint.taken"));

    // Nothing of it in clear anywhere in the database: complaint rows, audit log, outbox,
    // kept idempotent responses.
    let dump = database_text(&app).await;
    assert!(
        dump.contains(&c["reference"].as_str().unwrap().to_owned()),
        "the dump reads the data"
    );
    for secret in [PHONE, EMAIL, NAME, "独特描述XYZ"] {
        assert!(!dump.contains(secret), "{secret} found in the database");
    }
    for (_, payload) in events(&app).await {
        assert!(
            !payload.contains(PHONE) && !payload.contains("独特描述"),
            "{payload}"
        );
    }

    let sealed: String = app
        .state
        .db
        .read(move |conn| {
            use csr_assess::db::schema::complaint_cases as cc;
            use diesel::prelude::*;
            Ok(cc::table
                .find(id)
                .select(cc::personal)
                .first::<Option<String>>(conn)?)
        })
        .await
        .unwrap()
        .expect("sealed");
    assert!(sealed.starts_with("v1.") && dump.contains(&sealed));

    // Closed, then past the reopening window and the retention period: erased. The complaint
    // and its figures remain.
    post(&app, &format!("{path}/acknowledge"), &e.token, json!({})).await;
    post(
        &app,
        &format!("{path}/proposal"),
        &e.token,
        json!({ "proposal": "退货退款" }),
    )
    .await;
    post(
        &app,
        &format!("{path}/answer"),
        &colleague,
        json!({ "accepted": true }),
    )
    .await;
    let closed = post(&app, &format!("{path}/close"), &colleague, json!({})).await;
    let closed_on: NaiveDate = closed["closed_on"].as_str().unwrap().parse().unwrap();
    let until: NaiveDate = closed["reopen_until"].as_str().unwrap().parse().unwrap();
    // Within the retention period nothing goes.
    assert_eq!(sweep(&app, closed_on + Duration::days(29)).await.2, 0);
    let later = until.max(closed_on + Duration::days(30)) + Duration::days(1);
    assert_eq!(sweep(&app, later).await.2, 1);
    assert_eq!(sweep(&app, later).await.2, 0);
    app.get(&format!("{path}/personal-data"), Some(&e.token))
        .await
        .problem(409, "personal_data_erased");
    let after = app.get(&path, Some(&e.token)).await.json();
    assert!(after["personal_data_erased_at"].is_string(), "{after}");
    assert_eq!(after["outcome"], "reconciled");
    let dump = database_text(&app).await;
    assert!(!dump.contains(&sealed), "the sealed value remains");
    assert!(
        audit_actions(&app)
            .await
            .iter()
            .any(|a| a == "complaint.personal_data_erased")
    );
    let quarter = format!(
        "{}Q{}",
        cal.received.year(),
        (cal.received.month() - 1) / 3 + 1
    );
    let m = app
        .get(
            &format!(
                "/api/v1/enterprises/{}/complaint-measures?quarter={quarter}",
                e.id
            ),
            Some(&officer),
        )
        .await
        .json();
    assert_eq!(
        (m["received"].as_i64(), m["reconciled"].as_i64()),
        (Some(1), Some(1)),
        "{m}"
    );

    // A complaint never closed: kept while steps happen, erased once nothing has happened for
    // CSR_COMPLAINT_IDLE_DAYS (the sweep's own escalation counts as a step).
    let res = app
        .post("/api/v1/complaints", Some(&officer), &intake(&code, None))
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let open = format!("/api/v1/complaints/{}", res.json()["id"]);
    let t = cal.today;
    assert_eq!(sweep(&app, t + Duration::days(59)).await.2, 0);
    let res = app
        .get(&format!("{open}/personal-data"), Some(&e.token))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(sweep(&app, t + Duration::days(120)).await.2, 1);
    app.get(&format!("{open}/personal-data"), Some(&e.token))
        .await
        .problem(409, "personal_data_erased");
    let after = app.get(&open, Some(&e.token)).await.json();
    assert_eq!(after["state"], "forwarded", "{after}");
}

/// The service as a process with debug logging: intake (also a refused one and a repeated one),
/// reading the personal data, every step and the sweep leave none of the consumer's contact
/// or words in its log.
async fn personal_data_stays_out_of_the_logs(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::processes::database(b, dir.path());
    let server = crate::processes::serve(
        &db.url,
        dir.path(),
        &[("RUST_LOG", "debug"), ("CSR_COMPLAINT_SWEEP_SECS", "1")],
    );
    let http = &server.http;
    let (_, officer) = http
        .staff("complaint_officer", json!({ "region_scope": "33" }))
        .await;
    let code = crate::helpers::credit_code();
    let e = http.enterprise_with(json!({ "credit_code": code })).await;
    let mut refused = intake(&code, None);
    refused["contact"]["phone"] = json!("1391234567X");
    let res = http
        .post("/api/v1/complaints", Some(&officer), &refused)
        .await;
    assert_eq!(res.invalid_fields(), ["contact.phone"], "{}", res.text());
    let key = [("Idempotency-Key", "log-check-1")];
    let body = serde_json::to_vec(&intake(&code, None)).unwrap();
    let mut id = 0;
    for _ in 0..2 {
        let res = http
            .request(
                Method::POST,
                "/api/v1/complaints",
                Some(&officer),
                Some(("application/json", body.clone())),
                &key,
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text());
        id = res.json()["id"].as_i64().unwrap();
    }
    let path = format!("/api/v1/complaints/{id}");
    let res = http
        .get(&format!("{path}/personal-data"), Some(&e.token))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.text().contains(PHONE));
    let step = |action: &'static str, token: String, body: Value| {
        let path = format!("{path}/{action}");
        async move {
            let res = http.post(&path, Some(&token), &body).await;
            assert_eq!(res.status, 200, "{path}: {}", res.text());
        }
    };
    step("acknowledge", e.token.clone(), json!({})).await;
    step(
        "proposal",
        e.token.clone(),
        json!({ "proposal": "退货退款" }),
    )
    .await;
    step(
        "answer",
        officer.clone(),
        json!({ "accepted": false, "reason": "转调解" }),
    )
    .await;
    step("close", officer.clone(), json!({})).await;
    // The sweep runs every second.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let log = server.log();
    // The whole log is there (the first line is kept) and it logged the requests.
    assert!(log.contains("applied migrations"), "{log}");
    assert!(
        log.contains("/api/v1/complaints/{id}/personal-data"),
        "{log}"
    );
    for secret in [PHONE, "1391234567X", EMAIL, NAME, WORDS, "独特描述"] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}

/// Everything the database holds, as text: on SQLite the database file and its write-ahead
/// log as bytes; on PostgreSQL every row of every table.
async fn database_text(app: &TestApp) -> String {
    match app.backend {
        Backend::Sqlite => {
            let mut all = Vec::new();
            for suffix in ["", "-wal"] {
                let path = app.dir.path().join(format!("test.db{suffix}"));
                if let Ok(bytes) = std::fs::read(&path) {
                    all.extend(bytes);
                }
            }
            assert!(all.len() > 4096, "the database file was read");
            String::from_utf8_lossy(&all).into_owned()
        }
        Backend::Postgres => app
            .state
            .db
            .read(|conn| {
                use diesel::prelude::*;
                #[derive(diesel::QueryableByName)]
                struct T {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    tablename: String,
                }
                #[derive(diesel::QueryableByName)]
                struct R {
                    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
                    t: Option<String>,
                }
                let tables: Vec<T> = diesel::sql_query(
                    "SELECT tablename::text AS tablename FROM pg_tables WHERE schemaname = 'public'",
                )
                .load(conn)?;
                let mut all = String::new();
                for t in tables {
                    let rows: Vec<R> = diesel::sql_query(format!(
                        "SELECT string_agg(x::text, ' ') AS t FROM \"{}\" x",
                        t.tablename
                    ))
                    .load(conn)?;
                    all.extend(rows.into_iter().filter_map(|r| r.t));
                }
                Ok(all)
            })
            .await
            .unwrap(),
    }
}

async fn intake_is_idempotent(b: Backend) {
    let (app, _calendar) = complaint_app(b, |_| {}).await;
    let (_, code) = enterprise(&app).await;
    let (_, platform) = app.staff("complaint_platform", json!({})).await;
    let mut body = intake(&code, None);
    body["external_ref"] = json!("12315-2026-000123");
    let send = |body: Value, key: &'static str| {
        let app = &app;
        let platform = platform.clone();
        async move {
            app.request(
                Method::POST,
                "/api/v1/complaints",
                Some(&platform),
                Some(("application/json", serde_json::to_vec(&body).unwrap())),
                &[("Idempotency-Key", key)],
            )
            .await
        }
    };
    let first = send(body.clone(), "intake-1").await;
    assert_eq!(first.status, 201, "{}", first.text());
    let again = send(body.clone(), "intake-1").await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("location"), first.header("location"));
    // The same key with another consumer's contact is another request.
    let mut changed = body.clone();
    changed["contact"]["phone"] = json!("13800000001");
    send(changed, "intake-1")
        .await
        .problem(422, "idempotency_key_reused");
    // Without a key, the platform's own number still prevents a duplicate.
    let dup = send(body.clone(), "intake-2").await;
    dup.problem(409, "already_exists");
    let list = app.get("/api/v1/complaints", Some(&platform)).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // Bad input names its fields.
    let res = app
        .post(
            "/api/v1/complaints",
            Some(&platform),
            &json!({
                "credit_code": "91330106MA0000000X", "category": "after_sales", "channel": "online",
                "amount_fen": -1, "description": "", "received_on": "2999-01-01",
                "contact": { "name": "", "phone": "call me" },
            }),
        )
        .await;
    let mut fields = res.invalid_fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "amount_fen",
            "contact.name",
            "contact.phone",
            "credit_code",
            "description",
            "received_on"
        ]
    );
    let res = app
        .post(
            "/api/v1/complaints",
            Some(&platform),
            &json!({ "category": "nonsense" }),
        )
        .await;
    assert!(res.status == 400 || res.status == 422, "{}", res.text());
}

async fn group_complaints_raise_one_incident(b: Backend) {
    let (app, _calendar) = complaint_app(b, |s| {
        s.group_complaint_threshold = 3;
        s.group_complaint_days = 7;
    })
    .await;
    let (e, code) = enterprise(&app).await;
    webhook(&app, &e).await;
    let (_, officer) = new_officer(&app, "33").await;
    let record = |category: &'static str| {
        let app = &app;
        let officer = officer.clone();
        let code = code.clone();
        async move {
            let mut body = intake(&code, None);
            body["category"] = json!(category);
            let res = app.post("/api/v1/complaints", Some(&officer), &body).await;
            assert_eq!(res.status, 201, "{}", res.text());
            res.json()
        }
    };
    record("after_sales").await;
    let second = record("after_sales").await;
    assert!(second["incident_id"].is_null());
    let third = record("after_sales").await;
    let incident = third["incident_id"]
        .as_i64()
        .expect("an incident on the third");
    let other = record("price").await;
    assert!(other["incident_id"].is_null());
    let fourth = record("after_sales").await;
    assert_eq!(fourth["incident_id"], incident);
    let linked = app
        .get(
            &format!("/api/v1/complaints?incident_id={incident}"),
            Some(&officer),
        )
        .await
        .json();
    assert_eq!(linked["items"].as_array().unwrap().len(), 4);
    let path = format!("/api/v1/complaint-incidents/{incident}");
    let i = app.get(&path, Some(&e.token)).await.json();
    assert_eq!(
        (i["state"].as_str(), i["complaints"].as_i64()),
        (Some("open"), Some(4))
    );
    let opened = events(&app)
        .await
        .into_iter()
        .filter(|(t, _)| t == "complaint_incident.opened")
        .count();
    assert_eq!(opened, 1);

    // Staff close it only once the enterprise reported its remediation.
    app.post(&format!("{path}/close"), Some(&officer), &json!({}))
        .await
        .problem(409, "invalid_transition");
    let i = post(
        &app,
        &format!("{path}/remediation"),
        &e.token,
        json!({ "remediation": "更换压缩机供应商，召回同批次冰箱" }),
    )
    .await;
    assert_eq!(i["state"], "remediation_reported");
    let i = post(&app, &format!("{path}/close"), &officer, json!({})).await;
    assert_eq!(i["state"], "closed");
    // A new complaint does not join a closed incident; the next wave opens a new one.
    let fifth = record("after_sales").await;
    assert!(fifth["incident_id"].is_null());

    // Parallel intakes on two instances open exactly one incident for a new issue.
    let sibling = spawn_sibling(&app, |_| {}).await;
    let mut body = intake(&code, None);
    body["category"] = json!("quality");
    let calls = (0..8).map(|i| {
        let client = if i % 2 == 0 { &app.http } else { &sibling.http };
        let (officer, body) = (officer.clone(), body.clone());
        async move {
            let res = client
                .post("/api/v1/complaints", Some(&officer), &body)
                .await;
            assert_eq!(res.status, 201, "{}", res.text());
        }
    });
    futures_util::future::join_all(calls).await;
    let incidents: Vec<(String, String)> = app
        .state
        .db
        .read(|conn| {
            use csr_assess::db::schema::complaint_incidents as inc;
            use diesel::prelude::*;
            Ok(inc::table.select((inc::category, inc::state)).load(conn)?)
        })
        .await
        .unwrap();
    let quality: Vec<_> = incidents.iter().filter(|(c, _)| c == "quality").collect();
    assert_eq!(quality.len(), 1, "{incidents:?}");
}

async fn liaison_units_commit_to_deadlines(b: Backend) {
    let (app, cal) = complaint_app(b, |_| {}).await;
    let (e, code) = enterprise(&app).await;
    let (_, officer) = new_officer(&app, "33").await;
    let (_, beijing) = new_officer(&app, "11").await;
    let path = format!("/api/v1/enterprises/{}/liaison", e.id);
    let enrolment = json!({
        "contact_name": "客户服务部", "contact_phone": "0571-88880000",
        "contact_email": "kefu@example.com", "hours": "工作日 9:00–17:30",
        "acknowledge_days": 5, "proposal_days": 20,
    });
    let res = app
        .send_json(Method::PUT, &path, Some(&e.token), &enrolment)
        .await;
    let mut fields = res.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["acknowledge_days", "proposal_days"]);
    let mut ok = enrolment.clone();
    ok["acknowledge_days"] = json!(1);
    ok["proposal_days"] = json!(5);
    let res = app.send_json(Method::PUT, &path, Some(&e.token), &ok).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["status"], "pending");
    let queue = app
        .get("/api/v1/liaison-units?status=pending", Some(&officer))
        .await
        .json();
    assert_eq!(queue["items"][0]["enterprise_id"], e.id);
    let elsewhere = app
        .get("/api/v1/liaison-units?status=pending", Some(&beijing))
        .await
        .json();
    assert_eq!(elsewhere["items"], json!([]));
    assert_invisible(
        &app,
        &beijing,
        Method::GET,
        &path,
        "/api/v1/enterprises/999999/liaison",
    )
    .await;

    // Not approved yet: the association's default, three working days.
    let t = cal.today;
    let c = app
        .post(
            "/api/v1/complaints",
            Some(&officer),
            &intake(&code, Some(cal.received)),
        )
        .await
        .json();
    assert_eq!(c["acknowledge_due"], (t + Duration::days(5)).to_string());
    let res = app
        .post(
            &format!("{path}/decision"),
            Some(&officer),
            &json!({ "status": "refused" }),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["reason"]);
    let l = post(
        &app,
        &format!("{path}/decision"),
        &officer,
        json!({ "status": "approved" }),
    )
    .await;
    assert_eq!(l["status"], "approved");
    app.post(
        &format!("{path}/decision"),
        Some(&officer),
        &json!({ "status": "approved" }),
    )
    .await
    .problem(409, "invalid_transition");
    // Approved: its own commitment, one working day.
    let c = app
        .post(
            "/api/v1/complaints",
            Some(&officer),
            &intake(&code, Some(cal.received)),
        )
        .await
        .json();
    assert_eq!(c["acknowledge_due"], (t + Duration::days(3)).to_string());
    // Acknowledging starts its five-day proposal deadline.
    let id = c["id"].as_i64().unwrap();
    let c = post(
        &app,
        &format!("/api/v1/complaints/{id}/acknowledge"),
        &e.token,
        json!({}),
    )
    .await;
    assert!(
        c["proposal_due"].as_str().unwrap() > crate::helpers::china_today().to_string().as_str()
    );
    // Withdrawn: back to the default.
    let res = app
        .request(Method::DELETE, &path, Some(&e.token), None, &[])
        .await;
    assert_eq!(res.json()["status"], "withdrawn");
    let c = app
        .post(
            "/api/v1/complaints",
            Some(&officer),
            &intake(&code, Some(cal.received)),
        )
        .await
        .json();
    assert_eq!(c["acknowledge_due"], (t + Duration::days(5)).to_string());
    let actions = audit_actions(&app).await;
    for a in [
        "liaison_unit.requested",
        "liaison_unit.approved",
        "liaison_unit.withdrawn",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a}");
    }
}

/// An approved liaison unit is marked on its public certificate, its verification page and in
/// the directory; a pending or withdrawn enrolment is not.
async fn liaison_units_are_shown_to_the_public(b: Backend) {
    let (app, _cal) = complaint_app(b, |_| {}).await;
    let (_, reviewer) = app.staff("reviewer", json!({})).await;
    let (e, _code, number) = certified(&app, &reviewer).await;
    let (_, officer) = new_officer(&app, "33").await;
    let path = format!("/api/v1/enterprises/{}/liaison", e.id);
    let marks = || async {
        let json = app
            .get(&format!("/api/v1/public/certificates/{number}"), None)
            .await
            .json()["liaison_unit"]
            .as_bool()
            .unwrap();
        let verify = app.get(&format!("/verify/{number}"), None).await.text();
        let row = |page: String, mark: &str| {
            let at = page.find(number.as_str()).expect("listed");
            let row = &page[at..];
            row[..row.find("</tr>").unwrap()].contains(mark)
        };
        let zh = row(app.get("/directory", None).await.text(), ">是</td>");
        let en = row(
            app.get("/directory?lang=en", None).await.text(),
            ">Yes</td>",
        );
        (json, verify.contains("id=\"liaison\""), zh, en)
    };
    assert_eq!(marks().await, (false, false, false, false));
    let enrolment = json!({
        "contact_name": "客户服务部", "contact_phone": "0571-88880000",
        "contact_email": "kefu@example.com", "hours": "工作日 9:00–17:30",
        "acknowledge_days": 2, "proposal_days": 8,
    });
    let res = app
        .send_json(Method::PUT, &path, Some(&e.token), &enrolment)
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(marks().await, (false, false, false, false), "pending");
    post(
        &app,
        &format!("{path}/decision"),
        &officer,
        json!({ "status": "approved" }),
    )
    .await;
    assert_eq!(marks().await, (true, true, true, true), "approved");
    let res = app
        .request(Method::DELETE, &path, Some(&e.token), None, &[])
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(marks().await, (false, false, false, false), "withdrawn");
}

/// A certified enterprise (level needing one reviewer) with its credit code and certificate
/// number.
async fn certified(app: &TestApp, reviewer: &str) -> (Enterprise, String, String) {
    let (e, code) = enterprise(app).await;
    let id = crate::helpers::submitted(app, &e, "C1491", 2).await;
    let cert = crate::helpers::approve(app, reviewer, id).await;
    (e, code, cert["number"].as_str().unwrap().to_owned())
}

async fn surveillance_opens_once_and_can_suspend(b: Backend) {
    let (app, cal) = complaint_app(b, |_| {}).await;
    let (_, reviewer) = app.staff("reviewer", json!({})).await;
    let (e, code, number) = certified(&app, &reviewer).await;
    let res = app
        .post(
            "/api/v1/webhooks",
            Some(&e.token),
            &json!({ "url": "http://127.0.0.1:9/hook", "event_types": ["certificate.under_surveillance", "certificate.suspended"] }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let (_, officer) = new_officer(&app, "33").await;
    let public = format!("/api/v1/public/certificates/{number}");
    assert_eq!(
        app.get(&public, None).await.json()["under_surveillance"],
        false
    );
    let page = app.get(&format!("/verify/{number}"), None).await.text();
    assert!(!page.contains("监督审查中"));

    // Complaints about safety (a red-line category by default) from two instances at once:
    // exactly one review opens.
    let sibling = spawn_sibling(&app, |_| {}).await;
    let mut body = intake(&code, None);
    body["category"] = json!("safety");
    let calls = (0..6).map(|i| {
        let client = if i % 2 == 0 { &app.http } else { &sibling.http };
        let (officer, body) = (officer.clone(), body.clone());
        async move {
            let res = client
                .post("/api/v1/complaints", Some(&officer), &body)
                .await;
            assert_eq!(res.status, 201, "{}", res.text());
        }
    });
    futures_util::future::join_all(calls).await;
    let open = app
        .get("/api/v1/surveillance-reviews", Some(&reviewer))
        .await
        .json();
    let items = open["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{open}");
    assert_eq!(items[0]["certificate_number"], number);
    let id = items[0]["id"].as_i64().unwrap();
    let review = app
        .get(
            &format!("/api/v1/surveillance-reviews/{id}"),
            Some(&reviewer),
        )
        .await
        .json();
    assert_eq!(
        review["triggers"][0]["trigger"], "red_line_complaint",
        "{review}"
    );
    assert_eq!(review["measures"].as_array().unwrap().len(), 2);
    assert!(!review.to_string().contains(PHONE));

    // The public sees that it is under surveillance, and nothing of the complaints.
    let p = app.get(&public, None).await.json();
    assert_eq!(p["under_surveillance"], true);
    assert_eq!(p["status"], "active");
    let page = app.get(&format!("/verify/{number}"), None).await.text();
    assert!(page.contains("监督审查中"), "{page}");
    assert!(!page.contains("safety") && !page.contains(PHONE));
    // Outsiders: an officer may not decide; a reviewer decides with a reason.
    let path = format!("/api/v1/surveillance-reviews/{id}/decision");
    app.post(&path, Some(&officer), &json!({}))
        .await
        .problem(403, "forbidden");
    let res = app
        .post(&path, Some(&reviewer), &json!({ "outcome": "suspended" }))
        .await;
    assert_eq!(res.invalid_fields(), ["reason"]);
    let decided = post(
        &app,
        &path,
        &reviewer,
        json!({ "outcome": "suspended", "reason": "安全类投诉集中，暂停证书待整改" }),
    )
    .await;
    assert_eq!(
        (decided["state"].as_str(), decided["outcome"].as_str()),
        (Some("decided"), Some("suspended"))
    );
    app.post(
        &path,
        Some(&reviewer),
        &json!({ "outcome": "revoked", "reason": "again" }),
    )
    .await
    .problem(409, "invalid_transition");
    let p = app.get(&public, None).await.json();
    assert_eq!(
        (p["status"].as_str(), p["under_surveillance"].as_bool()),
        (Some("suspended"), Some(false))
    );
    let page = app.get(&format!("/verify/{number}"), None).await.text();
    assert!(
        page.contains("暂停") || page.contains("suspended"),
        "{page}"
    );
    let types: Vec<String> = events(&app).await.into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        types
            .iter()
            .filter(|t| *t == "certificate.under_surveillance")
            .count(),
        1,
        "{types:?}"
    );
    assert!(
        types.iter().any(|t| t == "certificate.suspended"),
        "{types:?}"
    );
    let actions = audit_actions(&app).await;
    for a in [
        "surveillance.opened",
        "surveillance.decided",
        "certificate.suspended",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a}");
    }

    // Another certified enterprise gets five complaints on five different issues (no group
    // incident) and lets every deadline pass: nothing opens at intake, and the escalation
    // sweep after the deadline finds on-time acknowledgement at 0 % and opens its review.
    let (_, code2, number2) = certified(&app, &reviewer).await;
    for category in ["quality", "price", "contract", "service", "measurement"] {
        let mut body = intake(&code2, Some(cal.received));
        body["category"] = json!(category);
        let res = app.post("/api/v1/complaints", Some(&officer), &body).await;
        assert_eq!(res.status, 201, "{}", res.text());
    }
    let open = app
        .get("/api/v1/surveillance-reviews", Some(&reviewer))
        .await
        .json();
    assert_eq!(open["items"], json!([]), "{open}");
    let (_, escalated, _) = sweep(&app, cal.today + Duration::days(6)).await;
    // These five, and the six safety complaints above that nobody acknowledged either.
    assert_eq!(escalated, 11);
    let open = app
        .get("/api/v1/surveillance-reviews", Some(&reviewer))
        .await
        .json();
    assert_eq!(open["items"].as_array().unwrap().len(), 1, "{open}");
    assert_eq!(open["items"][0]["certificate_number"], number2);
    let trigger = &open["items"][0]["triggers"][0];
    assert_eq!(trigger["trigger"], "on_time_acknowledgement", "{open}");
    assert_eq!(trigger["figure"], 0.0);
    // A platform's red-line complaint alone opens nothing: no staff member stands behind it
    // until one takes the case.
    let (_, _, number3) = certified(&app, &reviewer).await;
    let code3 = app
        .get(&format!("/api/v1/public/certificates/{number3}"), None)
        .await
        .json()["credit_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, platform) = app.staff("complaint_platform", json!({})).await;
    let mut body = intake(&code3, None);
    body["category"] = json!("safety");
    let res = app.post("/api/v1/complaints", Some(&platform), &body).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let cid = res.json()["id"].as_i64().unwrap();
    let public = format!("/api/v1/public/certificates/{number3}");
    assert_eq!(
        app.get(&public, None).await.json()["under_surveillance"],
        false
    );
    post(
        &app,
        &format!("/api/v1/complaints/{cid}/take"),
        &officer,
        json!({}),
    )
    .await;
    assert_eq!(
        app.get(&public, None).await.json()["under_surveillance"],
        true
    );
}

async fn complaint_statistics_follow_the_disclosure_rules(b: Backend) {
    let (app, _calendar) = complaint_app(b, |_| {}).await;
    let (_, officer) = app.staff("complaint_officer", json!({})).await;
    let (_, industry) = app
        .staff("industry_body", json!({ "industry_scopes": ["C14"] }))
        .await;
    let mut codes = Vec::new();
    for region in ["330106", "110105"] {
        for _ in 0..5 {
            let code = crate::helpers::credit_code();
            app.enterprise_with(json!({ "credit_code": code, "region_code": region }))
                .await;
            codes.push(code);
        }
    }
    // One lone enterprise in Shenzhen: its province is never shown.
    let lone = crate::helpers::credit_code();
    app.enterprise_with(json!({ "credit_code": lone, "region_code": "440305" }))
        .await;
    let record = |code: String| {
        let (app, officer) = (&app, officer.clone());
        async move {
            let res = app
                .post("/api/v1/complaints", Some(&officer), &intake(&code, None))
                .await;
            assert_eq!(res.status, 201, "{}", res.text());
        }
    };
    for code in &codes[..3] {
        record(code.clone()).await;
        record(code.clone()).await;
    }
    record(codes[5].clone()).await;
    record(lone.clone()).await;

    let res = app
        .get(
            "/api/v1/stats/complaints?group_by=province",
            Some(&industry),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let f = res.json();
    let rows = f["rows"].as_array().unwrap();
    let group = |g: &str| rows.iter().find(|r| r["group"] == g).cloned();
    let zj = group("33").expect("Zhejiang shown");
    assert_eq!(zj["received"]["value"], 6, "{f}");
    assert_eq!(zj["enterprises"]["value"], 5);
    assert_eq!(zj["enterprises_with_complaints"]["value"], 3);
    assert!(group("44").is_none(), "a province of one enterprise: {f}");
    // Shenzhen's lone enterprise cannot be worked out as the total less the shown provinces:
    // the total, Zhejiang and Beijing are never all shown together.
    let total_shown = !f["total"]["received"]["suppressed"].as_bool().unwrap();
    assert!(!(total_shown && group("11").is_some()), "{f}");
    for r in rows {
        assert!(r["enterprises"]["value"].as_i64().unwrap() >= 5, "{r}");
    }
    let zj_only = app
        .get("/api/v1/stats/complaints?region=33", Some(&industry))
        .await
        .json();
    assert_eq!(zj_only["total"]["received"]["value"], 6);
    let csv = app
        .get(
            "/api/v1/stats/complaints?group_by=province&format=csv",
            Some(&industry),
        )
        .await;
    assert_eq!(csv.status, 200);
    let text = csv.text();
    assert!(text.starts_with("group,enterprises,"), "{text}");
    assert!(!text.contains(PHONE) && !text.contains("独特描述"));
    app.get("/api/v1/stats/complaints?industry=F", Some(&industry))
        .await
        .problem(403, "forbidden");
    let res = app
        .get("/api/v1/stats/complaints?version=2024", Some(&industry))
        .await;
    assert_eq!(res.invalid_fields(), ["version"]);
    app.get("/api/v1/stats/complaints", Some(&officer))
        .await
        .problem(403, "forbidden");
}

/// The statistics count whole months from the monthly figures kept as complaints change and
/// the remaining days from the complaints themselves: after intakes, every step of the workflow
/// and a reopening, three periods — whole months only, days and months mixed, the default —
/// give the figures worked out by hand.
async fn complaint_statistics_follow_each_step(b: Backend) {
    let (app, cal) = complaint_app(b, |_| {}).await;
    let t = cal.today;
    let (_, officer) = new_officer(&app, "33").await;
    let (_, industry) = app
        .staff("industry_body", json!({ "industry_scopes": ["C14"] }))
        .await;
    let mut firms = Vec::new();
    for _ in 0..5 {
        firms.push(enterprise(&app).await);
    }
    let this_month = t.with_day(1).unwrap();
    let last = this_month - Duration::days(1);
    let earlier = last - Duration::days(20);
    let record = |i: usize, received: NaiveDate| {
        let (app, officer, code) = (&app, officer.clone(), firms[i].1.clone());
        async move {
            let res = app
                .post(
                    "/api/v1/complaints",
                    Some(&officer),
                    &intake(&code, Some(received)),
                )
                .await;
            assert_eq!(res.status, 201, "{}", res.text());
            format!("/api/v1/complaints/{}", res.json()["id"])
        }
    };
    let a = record(0, t).await;
    let b_ = record(1, last).await;
    let c = record(1, earlier).await;
    let d = record(2, earlier).await;
    let step = |path: String, action: &'static str, token: String, body: Value| {
        let app = &app;
        async move {
            post(app, &format!("{path}/{action}"), &token, body).await;
        }
    };
    let (ta, tb, td) = (
        firms[0].0.token.clone(),
        firms[1].0.token.clone(),
        firms[2].0.token.clone(),
    );
    // A: reconciled and closed, then reopened and rejected (answered, not closed).
    step(a.clone(), "acknowledge", ta.clone(), json!({})).await;
    step(
        a.clone(),
        "proposal",
        ta.clone(),
        json!({ "proposal": "退款" }),
    )
    .await;
    step(
        a.clone(),
        "answer",
        officer.clone(),
        json!({ "accepted": true }),
    )
    .await;
    step(a.clone(), "close", officer.clone(), json!({})).await;
    step(
        a.clone(),
        "reopen",
        officer.clone(),
        json!({ "reason": "未收到退款" }),
    )
    .await;
    step(
        a.clone(),
        "proposal",
        ta.clone(),
        json!({ "proposal": "退款50%" }),
    )
    .await;
    step(
        a.clone(),
        "answer",
        officer.clone(),
        json!({ "accepted": false, "reason": "转调解" }),
    )
    .await;
    // B: reconciled and closed today.
    step(b_.clone(), "acknowledge", tb.clone(), json!({})).await;
    step(
        b_.clone(),
        "proposal",
        tb.clone(),
        json!({ "proposal": "换货" }),
    )
    .await;
    step(
        b_.clone(),
        "answer",
        officer.clone(),
        json!({ "accepted": true }),
    )
    .await;
    step(b_.clone(), "close", officer.clone(), json!({})).await;
    // C: never acknowledged, its deadline passed yesterday. D: acknowledged on time.
    let c_id: i64 = c.rsplit('/').next().unwrap().parse().unwrap();
    app.state
        .db
        .write(move |conn| {
            use csr_assess::db::schema::complaints as x;
            use diesel::prelude::*;
            diesel::update(x::table.find(c_id))
                .set(x::acknowledge_due.eq(t - Duration::days(1)))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    step(d.clone(), "acknowledge", td, json!({})).await;

    let figures = |period: Option<String>| {
        let (app, industry) = (&app, industry.clone());
        async move {
            let q = period.map(|p| format!("&period={p}")).unwrap_or_default();
            let res = app
                .get(
                    &format!("/api/v1/stats/complaints?region=33{q}"),
                    Some(&industry),
                )
                .await;
            assert_eq!(res.status, 200, "{}", res.text());
            let f = res.json()["total"].clone();
            let v = |k: &str| f[k]["value"].as_f64();
            (
                v("received"),
                v("enterprises_with_complaints"),
                v("on_time_rate"),
                v("reconciliation_rate"),
                v("mean_days_to_close"),
            )
        }
    };
    let closed_b = (t - last).num_days() as f64;
    // Whole months only: B, C and D.
    assert_eq!(
        figures(Some(format!(
            "{}..{this_month}",
            earlier.with_day(1).unwrap()
        )))
        .await,
        (
            Some(3.0),
            Some(2.0),
            Some(2.0 / 3.0),
            Some(1.0),
            Some(closed_b)
        )
    );
    // The last day of last month from the complaints, this month from the monthly figures: A
    // and B.
    assert_eq!(
        figures(Some(format!("{last}..{}", t + Duration::days(1)))).await,
        (Some(2.0), Some(2.0), Some(1.0), Some(0.5), Some(closed_b))
    );
    // The default period holds all four.
    assert_eq!(
        figures(None).await,
        (Some(4.0), Some(3.0), Some(0.75), Some(0.5), Some(closed_b))
    );

    // What the steps added up to is what counting the complaints afresh gives.
    let kept = monthly_rows(&app).await;
    assert!(kept.0.len() >= 2 && kept.1.len() >= 3, "{kept:?}");
    app.state
        .db
        .write(csr_assess::db::complaint_months::rebuild)
        .await
        .unwrap();
    assert_eq!(kept, monthly_rows(&app).await);

    // Whole months are read from the monthly rows, not from the complaints: a count changed
    // there alone shows in the figures of a whole-month period, and not in a period of days.
    app.state
        .db
        .write(|conn| {
            use csr_assess::db::schema::complaint_months as cm;
            use diesel::prelude::*;
            diesel::update(cm::table)
                .set(cm::received.eq(cm::received + 10))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let whole = format!("{}..{this_month}", earlier.with_day(1).unwrap());
    assert_eq!(figures(Some(whole)).await.0, Some(13.0));
    let days = format!("{}..{}", last, last + Duration::days(1));
    assert_eq!(figures(Some(days)).await.0, Some(1.0));
}

/// Intakes that link a group complaint's earlier complaints, and acknowledgements of those same
/// complaints, all at once over two instances: every request succeeds (the monthly row they
/// share is written last in each transaction, so none waits for another in a cycle) and the
/// figures add up to a fresh count.
async fn parallel_steps_share_the_monthly_figures(b: Backend) {
    let (app, _cal) = complaint_app(b, |s| {
        s.group_complaint_threshold = 3;
        s.db_pool_size = 8;
    })
    .await;
    let sibling = spawn_sibling(&app, |_| {}).await;
    let (e, code) = enterprise(&app).await;
    let (_, officer) = new_officer(&app, "33").await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let res = app
            .post("/api/v1/complaints", Some(&officer), &intake(&code, None))
            .await;
        assert_eq!(res.status, 201, "{}", res.text());
        ids.push(res.json()["id"].as_i64().unwrap());
    }
    for round in 0..3 {
        let calls = (0..8).map(|i| {
            let client = if i % 2 == 0 { &app.http } else { &sibling.http };
            let (officer, token, ids, code) =
                (officer.clone(), e.token.clone(), ids.clone(), code.clone());
            async move {
                if i % 2 == 0 || ids.len() <= i / 2 {
                    client
                        .post("/api/v1/complaints", Some(&officer), &intake(&code, None))
                        .await
                } else {
                    let id = ids[ids.len() - 1 - i / 2];
                    client
                        .post(
                            &format!("/api/v1/complaints/{id}/acknowledge"),
                            Some(&token),
                            &json!({}),
                        )
                        .await
                }
            }
        });
        for res in futures_util::future::join_all(calls).await {
            assert!(
                res.status == 201 || res.status == 200 || res.status == 409,
                "round {round}: {} {}",
                res.status,
                res.text()
            );
            if res.status == 201 {
                ids.push(res.json()["id"].as_i64().unwrap());
            }
        }
    }
    let kept = monthly_rows(&app).await;
    app.state
        .db
        .write(csr_assess::db::complaint_months::rebuild)
        .await
        .unwrap();
    assert_eq!(kept, monthly_rows(&app).await);
    assert_eq!(kept.0.iter().map(|r| r.3).sum::<i64>(), ids.len() as i64);
}

type MonthRow = (String, NaiveDate, String, i64, i64, i64, i64, i64, i64, i64);

/// Every row of the two monthly tables, in key order.
async fn monthly_rows(app: &TestApp) -> (Vec<MonthRow>, Vec<(String, NaiveDate, String, i64)>) {
    app.state
        .db
        .read(|conn| {
            use csr_assess::db::schema::{complaint_firm_months as fm, complaint_months as cm};
            use diesel::prelude::*;
            let months = cm::table
                .order((cm::industry_code, cm::month, cm::region_code))
                .select((
                    cm::industry_code,
                    cm::month,
                    cm::region_code,
                    cm::received,
                    cm::acknowledged,
                    cm::on_time,
                    cm::answered,
                    cm::reconciled,
                    cm::closed,
                    cm::close_days,
                ))
                .load(conn)?;
            let firms = fm::table
                .order((
                    fm::industry_code,
                    fm::month,
                    fm::region_code,
                    fm::enterprise_id,
                ))
                .load(conn)?;
            Ok((months, firms))
        })
        .await
        .unwrap()
}

async fn renewal_opens_ninety_days_ahead_with_the_figures(b: Backend) {
    let (app, _calendar) = complaint_app(b, |_| {}).await;
    let (_, reviewer) = app.staff("reviewer", json!({})).await;
    let (e, code, number) = certified(&app, &reviewer).await;
    let res = app
        .post(
            "/api/v1/webhooks",
            Some(&e.token),
            &json!({ "url": "http://127.0.0.1:9/hook", "event_types": ["certificate.renewal_opened"] }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let (_, officer) = new_officer(&app, "33").await;
    let res = app
        .post("/api/v1/complaints", Some(&officer), &intake(&code, None))
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let expires: NaiveDate = app
        .get(&format!("/api/v1/public/certificates/{number}"), None)
        .await
        .json()["expires_on"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // The report shows the measured figures beside the complaint-handling answers.
    let certified_id =
        app.get("/api/v1/submissions", Some(&e.token)).await.json()["items"][0]["id"]
            .as_i64()
            .unwrap();
    let pdf = app
        .get(
            &format!("/api/v1/submissions/{certified_id}/report.pdf"),
            Some(&e.token),
        )
        .await;
    assert_eq!(pdf.status, 200);
    let text = crate::reports::pdf_text(&app, &pdf.body, "measured.pdf");
    assert!(text.contains("实测（近一年）：投诉1件"), "{text}");
    assert!(!text.contains(PHONE));
    // Nothing while more than ninety days remain; once, ninety days ahead.
    let s = csr_assess::complaints::sweep(&app.state, expires - Duration::days(91))
        .await
        .unwrap();
    assert_eq!(s.renewals, 0);
    let s = csr_assess::complaints::sweep(&app.state, expires - Duration::days(90))
        .await
        .unwrap();
    assert_eq!(s.renewals, 1);
    let s = csr_assess::complaints::sweep(&app.state, expires - Duration::days(60))
        .await
        .unwrap();
    assert_eq!(s.renewals, 0);
    let list = app.get("/api/v1/submissions", Some(&e.token)).await.json();
    let draft = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == "draft")
        .cloned()
        .expect("a renewal draft");
    let id = draft["id"].as_i64().unwrap();
    let r = app
        .get(&format!("/api/v1/submissions/{id}/renewal"), Some(&e.token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = r.json();
    assert_eq!(r["certificate_number"], number);
    let figures = r["complaint_figures"].as_array().unwrap();
    // Every quarter from the issue to the renewal (seven or eight, by the day of issue).
    assert!((7..=9).contains(&figures.len()), "{r}");
    let received: i64 = figures
        .iter()
        .map(|m| m["received"].as_i64().unwrap())
        .sum();
    assert_eq!(received, 1, "{r}");
    let (payload,) = events(&app)
        .await
        .into_iter()
        .filter(|(t, _)| t == "certificate.renewal_opened")
        .map(|(_, p)| (p,))
        .next()
        .expect("renewal event");
    assert!(
        payload.contains("complaint_figures") && payload.contains(&number),
        "{payload}"
    );
    assert!(!payload.contains(PHONE));
    // Not a renewal: 404.
    let original = list["items"][0]["id"].as_i64().unwrap();
    app.get(
        &format!("/api/v1/submissions/{original}/renewal"),
        Some(&e.token),
    )
    .await
    .problem(404, "not_found");
}

backend_tests!(
    renewal_opens_ninety_days_ahead_with_the_figures,
    complaint_statistics_follow_each_step,
    complaint_statistics_follow_the_disclosure_rules,
    surveillance_opens_once_and_can_suspend,
    a_complaint_walks_to_each_end_state,
    nobody_else_sees_a_complaint,
    personal_data_is_sealed_audited_and_erased,
    intake_is_idempotent,
    group_complaints_raise_one_incident,
    liaison_units_commit_to_deadlines,
    liaison_units_are_shown_to_the_public,
    personal_data_stays_out_of_the_logs,
    parallel_steps_share_the_monthly_figures,
);
