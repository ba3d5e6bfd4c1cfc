//! The schema registry: shipped versions and their hashes, immutability, publishing,
//! resolution per industry, differences, and a snapshot of one resolved version.

use actix_web::http::Method;
use csr_assess::domain::schema::SchemaDoc;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app, spawn_sibling};

backend_tests!(
    shipped_versions_are_listed_with_stable_hashes,
    a_changed_published_version_stops_the_start,
    resolved_applies_industry_profiles,
    diff_matches_the_changelog,
    admin_publishes_and_retires_versions,
    publishing_checks_the_changelog,
    broken_documents_name_the_path,
    errata_are_a_new_version,
);

const BASE: &str = "/api/v1/schemas/cca-good-enterprise";

async fn version_doc(app: &TestApp, token: &str, version: &str) -> Value {
    let res = app
        .get(&format!("{BASE}/versions/{version}"), Some(token))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()
}

async fn shipped_versions_are_listed_with_stable_hashes(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let list = app.get("/api/v1/schemas", Some(&e.token)).await.json();
    assert_eq!(list[0]["id"], "cca-good-enterprise");
    assert_eq!(list[0]["versions"], json!(["2007", "2014", "2024"]));
    assert_eq!(list[0]["latest_version"], "2024");
    app.get("/api/v1/schemas", None)
        .await
        .problem(401, "missing_token");

    let versions = app
        .get(&format!("{BASE}/versions"), Some(&e.token))
        .await
        .json();
    let shipped = csr_assess::schemas::shipped().unwrap();
    for (v, s) in versions.as_array().unwrap().iter().zip(&shipped) {
        assert_eq!(v["version"], s.doc.version.as_str());
        assert_eq!(v["content_hash"], s.hash.as_str());
        assert_eq!(v["status"], "published");
        assert_eq!(v["source"], "shipped");
    }
    let doc = version_doc(&app, &e.token, "2024").await;
    assert_eq!(doc["content_hash"], shipped[2].hash.as_str());
    // The returned document hashes to the recorded hash.
    let parsed: SchemaDoc = serde_json::from_value(doc["document"].clone()).unwrap();
    assert_eq!(parsed.content_hash(), shipped[2].hash);

    // A restart on the same database accepts the same files and keeps the hashes.
    let again = spawn_sibling(&app, |_| {}).await;
    let after = again
        .get(&format!("{BASE}/versions"), Some(&e.token))
        .await
        .json();
    assert_eq!(after, versions);
    app.get(&format!("{BASE}/versions/1999"), Some(&e.token))
        .await
        .problem(404, "not_found");
    app.get("/api/v1/schemas/nothing/versions", Some(&e.token))
        .await
        .problem(404, "not_found");
}

async fn a_changed_published_version_stops_the_start(b: Backend) {
    let app = spawn_app(b).await;
    // As if the shipped 2024 file had been edited after it was recorded: the recorded hash
    // no longer matches the file.
    app.state
        .db
        .write(|conn| {
            use csr_assess::db::schema::schema_versions::dsl::*;
            use diesel::prelude::*;
            diesel::update(schema_versions.filter(version.eq("2024")))
                .set(content_hash.eq("0".repeat(64)))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let mut settings = app.state.settings.clone();
    settings.bind = "127.0.0.1:0".into();
    let err = match csr_assess::state::AppState::init(settings).await {
        Ok(_) => panic!("the start went on with a changed published version"),
        Err(e) => e,
    };
    assert!(
        err.contains("schemas/cca-good-enterprise/2024.json"),
        "{err}"
    );
    assert!(err.contains("never changes"), "{err}");
}

fn ids(resolved: &Value) -> Vec<String> {
    resolved["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

fn weight(resolved: &Value, id: &str) -> f64 {
    resolved["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("{id} missing"))["weight"]
        .as_f64()
        .unwrap()
}

async fn resolved_applies_industry_profiles(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let get = |industry: &str| {
        let path = format!("{BASE}/versions/2024/resolved?industry={industry}");
        let token = e.token.clone();
        let app = &app;
        async move {
            let res = app.get(&path, Some(&token)).await;
            assert_eq!(res.status, 200, "{}", res.text());
            res.json()
        }
    };
    let base = app
        .get(&format!("{BASE}/versions/2024/resolved"), Some(&e.token))
        .await
        .json();
    assert_eq!(ids(&base).len(), 74);
    assert!(base["profile"].is_null());

    // Food manufacturing: food criteria added, safety weighted up, burden of proof excluded.
    let food = get("C1491").await;
    assert_eq!(food["profile"]["id"], "food");
    for id in [
        "food.traceability",
        "food.recall_drill",
        "food.labelling",
        "food.expired_goods_control",
    ] {
        assert!(ids(&food).contains(&id.to_owned()), "{id}");
    }
    assert_eq!(weight(&food, "safety.product_standards"), 5.0);
    assert!(!ids(&food).contains(&"fair_trade.burden_of_proof".to_owned()));
    assert_eq!(food["excluded"], json!(["fair_trade.burden_of_proof"]));
    assert_eq!(ids(&food).len(), 74 - 1 + 6);

    // Banking: no goods, so goods-related criteria are excluded.
    let bank = get("J6621").await;
    assert_eq!(bank["profile"]["id"], "banking");
    assert!(ids(&bank).contains(&"banking.suitability".to_owned()));
    for gone in [
        "after_sales.three_guarantees",
        "after_sales.seven_day_return",
        "sustainability.packaging",
    ] {
        assert!(!ids(&bank).contains(&gone.to_owned()), "{gone}");
    }
    assert_eq!(weight(&bank, "dignity_privacy.data_security"), 5.0);

    // Internet retail: the longest matching prefix wins, seven-day returns weigh more.
    let online = get("F5292").await;
    assert_eq!(online["profile"]["id"], "internet_retail");
    assert_eq!(weight(&online, "after_sales.seven_day_return"), 5.0);
    assert!(ids(&online).contains(&"online.review_integrity".to_owned()));

    // Drugs retail and housing.
    assert_eq!(get("F5251").await["profile"]["id"], "drug_retail");
    assert_eq!(get("C2710").await["profile"]["id"], "drugs");
    // Veterinary drugs and feed are farm inputs, not drugs or food.
    assert_eq!(get("C2750").await["profile"]["id"], "agricultural_inputs");
    assert_eq!(get("C1329").await["profile"]["id"], "agricultural_inputs");
    // Property managers are not developers.
    assert_eq!(get("K7020").await["profile"]["id"], "property_management");
    assert_eq!(get("K7010").await["profile"]["id"], "housing");
    // An industry without a profile answers the base criteria.
    let farm = get("A01").await;
    assert!(farm["profile"].is_null());
    assert_eq!(ids(&farm), ids(&base));
    // An invalid industry code is named.
    let res = app
        .get(
            &format!("{BASE}/versions/2024/resolved?industry=Z9"),
            Some(&e.token),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["industry"]);
}

async fn diff_matches_the_changelog(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    for (from, to) in [("2014", "2024"), ("2007", "2014")] {
        let diff = app
            .get(&format!("{BASE}/diff?from={from}&to={to}"), Some(&e.token))
            .await
            .json();
        let log = &version_doc(&app, &e.token, to).await["document"]["changelog"];
        let sorted = |v: &Value| {
            let mut a: Vec<String> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.to_string())
                .collect();
            a.sort();
            a
        };
        for key in ["added", "removed", "renamed", "reweighted"] {
            assert_eq!(sorted(&diff[key]), sorted(&log[key]), "{from}→{to} {key}");
        }
    }
    let diff = app
        .get(&format!("{BASE}/diff?from=2007&to=2014"), Some(&e.token))
        .await
        .json();
    assert!(diff["renamed"]
        .as_array()
        .unwrap()
        .contains(&json!({"from": "dignity_privacy.customer_info_secrecy", "to": "dignity_privacy.data_security"})));
    // The renamed criterion changed its kind, so its answer must be given again.
    assert!(
        diff["rules_changed"]
            .as_array()
            .unwrap()
            .contains(&json!("dignity_privacy.data_security"))
    );
    app.get(&format!("{BASE}/diff?from=2014"), Some(&e.token))
        .await
        .problem(400, "malformed_request");
    app.get(&format!("{BASE}/diff?from=2014&to=3000"), Some(&e.token))
        .await
        .problem(404, "not_found");
}

/// A draft 2025 that repeats 2024 with one criterion re-worded.
pub async fn draft_2025(app: &TestApp, admin: &str) -> Value {
    let mut doc = version_doc(app, admin, "2024").await["document"].clone();
    doc["version"] = json!("2025");
    doc["predecessor"] = json!("2024");
    doc["status"] = json!("draft");
    doc["effective_date"] = json!("2025-03-15");
    doc["changelog"] = json!({ "added": [], "removed": [], "renamed": [], "reweighted": [] });
    doc["criteria"][0]["guidance"]["en"] = json!("Reworded guidance.");
    doc
}

async fn admin_publishes_and_retires_versions(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let admin = app.admin_token().await;
    let doc = draft_2025(&app, &admin).await;

    app.post(&format!("{BASE}/versions"), Some(&e.token), &doc)
        .await
        .problem(403, "forbidden");
    let res = app
        .post(&format!("{BASE}/versions"), Some(&admin), &doc)
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json()["status"], "draft");
    assert_eq!(res.json()["source"], "api");
    app.post(&format!("{BASE}/versions"), Some(&admin), &doc)
        .await
        .problem(409, "version_exists");
    // Drafts are invisible to everyone but administrators.
    app.get(&format!("{BASE}/versions/2025"), Some(&e.token))
        .await
        .problem(404, "not_found");
    let listed = app
        .get(&format!("{BASE}/versions"), Some(&e.token))
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 3);

    // A draft can be edited.
    let mut edited = doc.clone();
    edited["criteria"][0]["guidance"]["zh"] = json!("修改后的指引。");
    let path = format!("{BASE}/versions/2025");
    let res = app
        .send_json(Method::PUT, &path, Some(&admin), &edited)
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.json()["document"]["criteria"][0]["guidance"]["zh"],
        "修改后的指引。"
    );

    let res = app
        .post(&format!("{path}/publish"), Some(&admin), &json!({}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["status"], "published");
    let hash = res.json()["content_hash"].clone();
    assert_eq!(app.get(&path, Some(&e.token)).await.status, 200);

    // Published: immutable.
    app.send_json(Method::PUT, &path, Some(&admin), &edited)
        .await
        .problem(409, "version_immutable");
    app.post(&format!("{path}/publish"), Some(&admin), &json!({}))
        .await
        .problem(409, "version_immutable");
    // Retire it; a retired version is still readable and still immutable.
    let res = app
        .post(&format!("{path}/retire"), Some(&admin), &json!({}))
        .await;
    assert_eq!(res.json()["status"], "retired");
    assert_eq!(res.json()["content_hash"], hash);
    app.post(&format!("{path}/retire"), Some(&admin), &json!({}))
        .await
        .problem(409, "not_published");
    app.send_json(Method::PUT, &path, Some(&admin), &edited)
        .await
        .problem(409, "version_immutable");
    let list = app.get("/api/v1/schemas", Some(&e.token)).await.json();
    assert_eq!(list[0]["latest_version"], "2024");
    // Shipped versions are published and cannot be edited either.
    let mut shipped = version_doc(&app, &admin, "2024").await["document"].clone();
    shipped["status"] = json!("draft");
    app.send_json(
        Method::PUT,
        &format!("{BASE}/versions/2024"),
        Some(&admin),
        &shipped,
    )
    .await
    .problem(409, "version_immutable");
    // Every change is in the audit log.
    let entries = app
        .state
        .db
        .read(|conn| {
            csr_assess::db::audit::for_entity(conn, "schema_version", "cca-good-enterprise/2025")
        })
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "schema.draft_created",
            "schema.draft_updated",
            "schema.published",
            "schema.retired"
        ]
    );
}

/// A correction after publication is a new version ("2024.2") whose changelog says what it
/// corrects; the corrected version keeps its hash, and a draft of it upgrades with a plan.
async fn errata_are_a_new_version(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let e = app.enterprise().await;
    let before = version_doc(&app, &admin, "2024").await["content_hash"].clone();
    let mut doc = version_doc(&app, &admin, "2024").await["document"].clone();
    doc["version"] = json!("2024.2");
    doc["predecessor"] = json!("2024");
    doc["status"] = json!("draft");
    doc["effective_date"] = json!("2025-01-01");
    doc["title"]["zh"] =
        json!("依据《良好企业保护消费者利益社会责任导则》编制的评价细则（2024年第2版，勘误）");
    // One criterion's meaning is corrected (removed and added under a new id), one is
    // reworded only; the changelog names the first and the summary says what the errata are.
    let criteria = doc["criteria"].as_array_mut().unwrap();
    let i = criteria
        .iter()
        .position(|c| c["id"] == "lawful.staff_training")
        .unwrap();
    criteria[i]["id"] = json!("lawful.staff_training_annual");
    criteria[i]["title"]["zh"] = json!("每年对员工开展消费者权益保护法律培训");
    criteria[0]["guidance"]["zh"] = json!("勘误：指引措辞更正。");
    doc["changelog"] = json!({
        "summary": {
            "zh": "勘误版：更正员工培训条目的含义（按年度）及一处指引措辞；2024版保持不变。",
            "en": "Errata: staff training is now annual; one guidance text reworded. 2024 stays as published.",
        },
        "added": ["lawful.staff_training_annual"],
        "removed": ["lawful.staff_training"],
        "renamed": [],
        "reweighted": [],
    });
    let res = app
        .post(&format!("{BASE}/versions"), Some(&admin), &doc)
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let res = app
        .post(
            &format!("{BASE}/versions/2024.2/publish"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        version_doc(&app, &admin, "2024").await["content_hash"],
        before
    );

    // A 2024 draft moves to the errata version: the corrected criterion is answered afresh.
    let mut d = app.create_submission(&e.token, "2024").await;
    app.answer_all(
        &e.token,
        &mut d,
        [
            ("lawful.staff_training".to_owned(), json!({ "value": 3 })),
            ("lawful.compliance_system".to_owned(), json!({ "value": 2 })),
        ]
        .into_iter()
        .collect(),
    )
    .await;
    let res = app
        .send_if_match(
            Method::POST,
            &format!("{}/upgrade?to=2024.2", d.path),
            &e.token,
            &d.etag,
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    assert_eq!(body["plan"]["dropped"], json!(["lawful.staff_training"]));
    assert!(
        body["plan"]["added"]
            .as_array()
            .unwrap()
            .contains(&json!("lawful.staff_training_annual"))
    );
    assert_eq!(body["submission"]["version"], "2024.2");
    assert_eq!(
        body["submission"]["answers"]["lawful.compliance_system"]["value"],
        2
    );
}

async fn publishing_checks_the_changelog(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let mut doc = draft_2025(&app, &admin).await;
    // A new criterion that the changelog does not mention, and a rename of a criterion the
    // predecessor never had.
    let mut extra = doc["criteria"][0].clone();
    extra["id"] = json!("lawful.new_duty");
    doc["criteria"].as_array_mut().unwrap().push(extra);
    doc["changelog"]["renamed"] =
        json!([{ "from": "lawful.never_existed", "to": "lawful.new_duty" }]);
    assert_eq!(
        app.post(&format!("{BASE}/versions"), Some(&admin), &doc)
            .await
            .status,
        201
    );
    let res = app
        .post(
            &format!("{BASE}/versions/2025/publish"),
            Some(&admin),
            &json!({}),
        )
        .await;
    let fields = res.invalid_fields();
    assert!(
        fields.contains(&"/changelog/renamed/0/from".to_owned()),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"/changelog/added".to_owned()),
        "{fields:?}"
    );
    // Still a draft.
    let v = version_doc(&app, &admin, "2025").await;
    assert_eq!(v["status"], "draft");

    // Fixed, it publishes.
    doc["changelog"]["renamed"] = json!([]);
    doc["changelog"]["added"] = json!(["lawful.new_duty"]);
    let res = app
        .send_json(
            Method::PUT,
            &format!("{BASE}/versions/2025"),
            Some(&admin),
            &doc,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = app
        .post(
            &format!("{BASE}/versions/2025/publish"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let diff = app
        .get(&format!("{BASE}/diff?from=2024&to=2025"), Some(&admin))
        .await
        .json();
    assert_eq!(diff["added"], json!(["lawful.new_duty"]));
    assert_eq!(diff["text_changed"], json!(["lawful.compliance_system"]));
}

async fn broken_documents_name_the_path(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let good = draft_2025(&app, &admin).await;
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Mutation, &str)> = vec![
        (
            Box::new(|d| d["criteria"][3]["weight"] = json!("heavy")),
            "/criteria/3/weight",
        ),
        (
            Box::new(|d| d["criteria"][5]["colour"] = json!("red")),
            "/criteria/5",
        ),
        (
            Box::new(|d| d["criteria"][2]["kind"] = json!("essay")),
            "/criteria/2/kind",
        ),
        (
            Box::new(|d| d["themes"][0]["title"] = json!({ "zh": "守法" })),
            "/themes/0/title",
        ),
        (Box::new(|d| d["id"] = json!("other-schema")), "/id"),
        (Box::new(|d| d["status"] = json!("published")), "/status"),
    ];
    for (mutate, path) in cases {
        let mut doc = good.clone();
        mutate(&mut doc);
        let res = app
            .post(&format!("{BASE}/versions"), Some(&admin), &doc)
            .await;
        let fields = res.invalid_fields();
        assert!(fields.iter().any(|f| f == path), "{path}: {fields:?}");
    }
    // Semantic errors are found at publication, also with their paths.
    let mut doc = good.clone();
    doc["criteria"][1]["id"] = doc["criteria"][0]["id"].clone();
    doc["levels"][1]["min_score"] = json!(90);
    doc["criteria"][4]["law_refs"] =
        json!([{ "law": "crpl-2013", "article": 64, "in_force_from": "2014-03-15" }]);
    // An edition no longer in force on the version's effective date.
    doc["criteria"][5]["law_refs"] = json!([{ "law": "crpl-1993", "article": 16 }]);
    assert_eq!(
        app.post(&format!("{BASE}/versions"), Some(&admin), &doc)
            .await
            .status,
        201
    );
    let res = app
        .post(
            &format!("{BASE}/versions/2025/publish"),
            Some(&admin),
            &json!({}),
        )
        .await;
    let fields = res.invalid_fields();
    for path in [
        "/criteria/1/id",
        "/levels/1/min_score",
        "/criteria/4/law_refs/0/article",
        "/criteria/5/law_refs/0/law",
    ] {
        assert!(fields.iter().any(|f| f == path), "{path}: {fields:?}");
    }
}

#[actix_rt::test]
async fn resolved_2024_for_food_snapshot() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = app.admin_token().await;
    let resolved = app
        .get(
            &format!("{BASE}/versions/2024/resolved?industry=C1491"),
            Some(&admin),
        )
        .await
        .json();
    insta::assert_json_snapshot!("resolved_2024_c1491", resolved);
}
