//! Health, metrics, the OpenAPI document, the docs page and the problem+json shape of errors.

use actix_web::http::Method;
use serde_json::json;

use crate::helpers::{Backend, spawn_app, spawn_app_with};

backend_tests!(
    health_readiness_and_metrics,
    openapi_lists_every_route,
    openapi_is_a_contract_generators_accept,
    docs_page_is_served_offline,
    problem_types_lead_to_pages,
    errors_are_problem_json,
    request_ids_go_in_and_out,
    security_headers_on_every_response,
);

async fn health_readiness_and_metrics(b: Backend) {
    // Without a token or a metrics address the service publishes no metrics.
    let closed = spawn_app(b).await;
    closed.get("/metrics", None).await.problem(404, "not_found");

    let app = spawn_app_with(b, |s| {
        s.metrics_token = Some(csr_assess::config::Secret::new("scrape-token-1234"));
        s.metrics_bind = Some("127.0.0.1:0".into());
    })
    .await;
    assert_eq!(app.get("/healthz", None).await.json()["status"], "ok");
    assert_eq!(app.get("/readyz", None).await.json()["status"], "ok");
    app.get("/nope", None).await;
    app.get("/metrics", None).await.problem(404, "not_found");
    app.get("/metrics", Some("scrape-token-123"))
        .await
        .problem(404, "not_found");
    // Any method name is one bounded label.
    for method in ["BREW", "PROPFIND", "XYZZYXYZZY"] {
        let m = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        app.request(m, "/healthz", None, None, &[]).await;
    }
    let metrics = app.get("/metrics", Some("scrape-token-1234")).await;
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    assert!(text.contains(r#"method="OTHER""#), "{text}");
    assert!(
        !text.contains("BREW") && !text.contains("PROPFIND"),
        "{text}"
    );
    // The metrics address serves the same without a token, and nothing else.
    let port = app.metrics_port.expect("metrics listener");
    let internal = crate::helpers::Client::new(format!("http://127.0.0.1:{port}"));
    let res = internal.get("/metrics", None).await;
    assert_eq!(res.status, 200);
    assert!(res.text().contains("csr_http_requests_total"));
    assert_eq!(internal.get("/healthz", None).await.status, 404);
    assert_eq!(internal.get("/api/v1/me", None).await.status, 404);
    assert!(
        text.contains(r#"csr_http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(text.contains("csr_http_request_duration_seconds_bucket{"));
    assert!(text.contains("csr_db_pool_max_connections 4"));

    // An answer save commits in a group on either backend, and the counters say so.
    let scrape = || async { internal.get("/metrics", None).await.text() };
    let before = scrape().await;
    let e = app.enterprise().await;
    let mut draft = app.create_submission(&e.token, "2024").await;
    let mut answers = serde_json::Map::new();
    answers.insert(
        "lawful.no_unfair_conditions".into(),
        json!({ "value": true }),
    );
    app.answer_all(&e.token, &mut draft, answers).await;
    let after = scrape().await;
    for name in ["csr_db_group_commits_total", "csr_db_group_writes_total"] {
        assert!(
            counter(&after, name) > counter(&before, name),
            "{name}: {before} then {after}"
        );
    }
    assert!(
        counter(&after, "csr_db_group_writes_total")
            >= counter(&after, "csr_db_group_commits_total")
    );
}

/// The value of counter `name` in a metrics exposition.
fn counter(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from {text}"))
}

async fn openapi_lists_every_route(b: Backend) {
    let app = spawn_app(b).await;
    let doc = app.get("/openapi.json", None).await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    let mut found: Vec<String> = paths
        .iter()
        .flat_map(|(p, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{} {p}", m.to_uppercase()))
        })
        .collect();
    found.sort();
    let mut expected = vec![
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /.well-known/csr-assess/audit-head.json",
        "GET /openapi.json",
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/refresh",
        "POST /api/v1/auth/logout",
        "POST /api/v1/auth/password",
        "GET /api/v1/me",
        "POST /api/v1/enterprises",
        "POST /api/v1/enterprises/{id}/verify",
        "GET /api/v1/enterprises",
        "GET /api/v1/enterprises/{id}",
        "GET /api/v1/enterprises/{id}/users",
        "POST /api/v1/enterprises/{id}/users",
        "POST /api/v1/users",
        "GET /api/v1/users",
        "GET /api/v1/users/{id}",
        "POST /api/v1/users/{id}/disable",
        "POST /api/v1/users/{id}/enable",
        "GET /api/v1/reference/industries",
        "GET /api/v1/reference/regions",
        "GET /api/v1/schemas",
        "GET /api/v1/schemas/{id}/versions",
        "POST /api/v1/schemas/{id}/versions",
        "GET /api/v1/schemas/{id}/versions/{version}",
        "PUT /api/v1/schemas/{id}/versions/{version}",
        "GET /api/v1/schemas/{id}/versions/{version}/resolved",
        "POST /api/v1/schemas/{id}/versions/{version}/publish",
        "POST /api/v1/schemas/{id}/versions/{version}/retire",
        "GET /api/v1/schemas/{id}/diff",
        "POST /api/v1/submissions",
        "GET /api/v1/submissions",
        "GET /api/v1/submissions/{id}",
        "DELETE /api/v1/submissions/{id}",
        "PUT /api/v1/submissions/{id}/answers/{criterion}",
        "PATCH /api/v1/submissions/{id}/answers",
        "DELETE /api/v1/submissions/{id}/answers/{criterion}",
        "POST /api/v1/submissions/{id}/submit",
        "POST /api/v1/submissions/{id}/withdraw",
        "POST /api/v1/submissions/{id}/upgrade",
        "GET /api/v1/submissions/{id}/history",
        "POST /api/v1/submissions/{id}/evidence-requests/{criterion}/answer",
        "POST /api/v1/submissions/{id}/evidence",
        "GET /api/v1/submissions/{id}/evidence",
        "GET /api/v1/submissions/{id}/evidence/{evidence_id}",
        "DELETE /api/v1/submissions/{id}/evidence/{evidence_id}",
        "GET /api/v1/audit/verify",
        "POST /api/v1/audit/checkpoints",
        "GET /.well-known/csr-assess/keys.json",
        "GET /api/v1/reviews/queue",
        "GET /api/v1/reviews/{id}",
        "POST /api/v1/reviews/{id}/claim",
        "PUT /api/v1/reviews/{id}/verdicts/{criterion}",
        "PUT /api/v1/reviews/{id}/verdicts",
        "POST /api/v1/reviews/{id}/return",
        "POST /api/v1/reviews/{id}/reject",
        "POST /api/v1/reviews/{id}/approve",
        "GET /api/v1/certificates",
        "POST /api/v1/certificates/{number}/suspend",
        "POST /api/v1/certificates/{number}/reinstate",
        "POST /api/v1/certificates/{number}/revoke",
        "GET /api/v1/public/certificates/{number}",
        "GET /api/v1/public/certificates",
        "GET /verify/{number}",
        "GET /directory",
        "GET /docs",
        "GET /docs/problems",
        "GET /docs/problems/{code}",
        "GET /api/v1/submissions/{id}/report.pdf",
        "GET /api/v1/public/certificates/{number}.pdf",
        "GET /api/v1/stats/funnel",
        "GET /api/v1/stats/levels",
        "PUT /api/v1/stats/populations",
        "GET /api/v1/stats/scores",
        "GET /api/v1/stats/criteria",
        "GET /api/v1/stats/trends",
        "GET /api/v1/stats/complaints",
        "GET /api/v1/surveillance-reviews",
        "GET /api/v1/surveillance-reviews/{id}",
        "POST /api/v1/surveillance-reviews/{id}/decision",
        "GET /api/v1/submissions/{id}/renewal",
        "POST /api/v1/webhooks",
        "GET /api/v1/webhooks",
        "GET /api/v1/webhooks/{id}",
        "DELETE /api/v1/webhooks/{id}",
        "POST /api/v1/webhooks/{id}/enable",
        "GET /api/v1/webhooks/{id}/deliveries",
        "POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        "POST /api/v1/complaints",
        "GET /api/v1/complaints",
        "GET /api/v1/complaints/{id}",
        "GET /api/v1/complaints/{id}/personal-data",
        "POST /api/v1/complaints/{id}/acknowledge",
        "POST /api/v1/complaints/{id}/proposal",
        "POST /api/v1/complaints/{id}/answer",
        "POST /api/v1/complaints/{id}/close",
        "POST /api/v1/complaints/{id}/reopen",
        "POST /api/v1/complaints/{id}/take",
        "GET /api/v1/complaint-incidents/{id}",
        "POST /api/v1/complaint-incidents/{id}/remediation",
        "POST /api/v1/complaint-incidents/{id}/close",
        "PUT /api/v1/enterprises/{id}/liaison",
        "GET /api/v1/enterprises/{id}/liaison",
        "DELETE /api/v1/enterprises/{id}/liaison",
        "POST /api/v1/enterprises/{id}/liaison/decision",
        "GET /api/v1/liaison-units",
        "GET /api/v1/enterprises/{id}/complaint-measures",
    ];
    expected.sort();
    assert_eq!(found, expected);
    // Every documented operation has a description and at least one response.
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["summary"].is_string(),
                "{method} {path} lacks a description"
            );
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()));
        }
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

/// What client generators need: a description on every response, one `verbNoun` operationId
/// per operation, and bytes declared as bytes.
async fn openapi_is_a_contract_generators_accept(b: Backend) {
    let app = spawn_app(b).await;
    let doc = app.get("/openapi.json", None).await.json();
    let mut ids = std::collections::BTreeMap::new();
    let mut binary_bodies = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let at = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"].as_str().unwrap_or_default();
            let verb_noun = id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && id.chars().any(|c| c.is_ascii_uppercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric());
            assert!(verb_noun, "{at}: operationId {id:?} is not verbNoun");
            if let Some(other) = ids.insert(id.to_owned(), at.clone()) {
                panic!("operationId {id} names both {other} and {at}");
            }
            // Header values the service reads in a fixed form say so.
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "header"
                    && (p["name"] == "If-Match" || p["name"] == "Idempotency-Key")
                {
                    assert!(p["schema"]["pattern"].is_string(), "{at}: {p}");
                }
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                let description = response["description"].as_str().unwrap_or_default();
                assert!(
                    !description.trim().is_empty(),
                    "{at} {status}: no description"
                );
                for (media_type, content) in response["content"].as_object().into_iter().flatten() {
                    let schema = &content["schema"];
                    if csr_assess::openapi::is_binary(media_type) {
                        binary_bodies += 1;
                        assert_eq!(schema["type"], "string", "{at} {status} {media_type}");
                        assert_eq!(schema["format"], "binary", "{at} {status} {media_type}");
                        assert_eq!(schema["contentMediaType"], media_type.as_str());
                    } else if !media_type.ends_with("json") {
                        assert_eq!(schema["type"], "string", "{at} {status} {media_type}");
                    }
                }
            }
        }
    }
    // Report, certificate and evidence downloads, and the statistics' XLSX.
    assert!(binary_bodies >= 8, "only {binary_bodies} binary bodies");
    // The statistics declare each format they answer in, and their closed sets are enums.
    let funnel = &doc["paths"]["/api/v1/stats/funnel"]["get"];
    let content = funnel["responses"]["200"]["content"].as_object().unwrap();
    for media_type in ["application/json", "text/csv"] {
        assert!(
            content.contains_key(media_type),
            "funnel lacks {media_type}"
        );
    }
    // A list refers to its item's schema, so generators make one type of it, not two.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let pages: Vec<_> = schemas.keys().filter(|k| k.starts_with("Page_")).collect();
    assert!(pages.len() >= 4, "{pages:?}");
    for page in pages {
        let item = &schemas[page]["properties"]["items"]["items"]["$ref"];
        let expected = format!("#/components/schemas/{}", &page["Page_".len()..]);
        assert_eq!(item.as_str(), Some(expected.as_str()), "{page}");
    }
    for (name, member) in [("group_by", "province"), ("format", "xlsx")] {
        let param = funnel["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("funnel lacks {name}"));
        let schema = resolve(&doc, &param["schema"]);
        let members = schema.to_string();
        assert!(
            members.contains(&format!("\"{member}\"")),
            "{name}: {members}"
        );
        assert!(members.contains("enum"), "{name} is not an enum: {members}");
    }
}

/// The schema itself, following `$ref`s and the `oneOf` utoipa writes for an optional reference.
fn resolve<'a>(doc: &'a serde_json::Value, schema: &'a serde_json::Value) -> &'a serde_json::Value {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return resolve(doc, &doc["components"]["schemas"][name]);
    }
    if let Some(first) = schema["oneOf"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["type"] != "null"))
    {
        return resolve(doc, first);
    }
    schema
}

async fn docs_page_is_served_offline(b: Backend) {
    let app = spawn_app(b).await;
    let page = app.get("/docs/", None).await;
    assert_eq!(page.status, 200);
    assert!(page.text().to_lowercase().contains("swagger"));
    // The UI's script comes from the binary, not from a CDN.
    assert!(!page.text().contains("https://"), "{}", page.text());
    let script = app.get("/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(script.status, 200);
    assert!(script.body.len() > 100_000);
    // Without the slash, a redirect to it.
    let bare = app.get("/docs", None).await;
    assert_eq!(bare.status, 308);
    assert_eq!(bare.header("location").as_deref(), Some("/docs/"));
}

/// A problem's `type` leads to a page about its code, served by the binary; the index lists
/// every code.
async fn problem_types_lead_to_pages(b: Backend) {
    let app = spawn_app(b).await;
    let problem = app
        .get("/api/v1/me", None)
        .await
        .problem(401, "missing_token");
    let uri = problem["type"].as_str().unwrap();
    assert_eq!(uri, "/docs/problems/missing_token");
    let page = app.get(uri, None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let text = page.text();
    assert!(
        text.contains("missing_token") && text.contains("401"),
        "{text}"
    );
    assert!(text.contains("Authorization: Bearer"), "{text}");
    // The strict page policy, not the API browser's.
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("style-src 'sha256-"), "{csp}");
    let index = app.get("/docs/problems", None).await.text();
    for code in [
        "precondition_failed",
        "refresh_token_reused",
        "not_certifiable",
    ] {
        assert!(
            index.contains(&format!("/docs/problems/{code}")),
            "{code} not listed"
        );
    }
    app.get("/docs/problems/no_such_code", None)
        .await
        .problem(404, "not_found");
}

async fn errors_are_problem_json(b: Backend) {
    let app = spawn_app(b).await;
    // Unknown route and wrong method.
    app.get("/api/v1/nothing-here", None)
        .await
        .problem(404, "not_found");
    let wrong = app
        .request(Method::DELETE, "/api/v1/enterprises", None, None, &[])
        .await;
    wrong.problem(405, "method_not_allowed");
    assert_eq!(wrong.header("allow").as_deref(), Some("GET, POST"));
    // Templates with a suffix match too.
    let wrong = app
        .request(
            Method::POST,
            "/api/v1/public/certificates/CSR-2026-000001-6.pdf",
            None,
            None,
            &[],
        )
        .await;
    wrong.problem(405, "method_not_allowed");
    // Malformed JSON.
    app.request(
        Method::POST,
        "/api/v1/enterprises",
        None,
        Some(("application/json", b"{\"name\": ".to_vec())),
        &[],
    )
    .await
    .problem(400, "malformed_request");
    // Not JSON at all.
    app.request(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(("text/plain", b"hello".to_vec())),
        &[],
    )
    .await
    .problem(415, "unsupported_media_type");
    // Over the 1 MiB limit.
    let big = format!(r#"{{"email":"{}","password":"x"}}"#, "a".repeat(1_100_000));
    app.request(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(("application/json", big.into_bytes())),
        &[],
    )
    .await
    .problem(413, "payload_too_large");
    // Unknown and mistyped fields are named.
    let mut body = app.registration();
    body["favourite_colour"] = json!("blue");
    let res = app.post("/api/v1/enterprises", None, &body).await;
    assert_eq!(res.invalid_fields(), ["favourite_colour"]);
    let mut body = app.registration();
    body["size"] = json!("huge");
    assert_eq!(
        app.post("/api/v1/enterprises", None, &body)
            .await
            .invalid_fields(),
        ["size"]
    );
    let mut body = app.registration();
    body.as_object_mut().unwrap().remove("name");
    assert_eq!(
        app.post("/api/v1/enterprises", None, &body)
            .await
            .invalid_fields(),
        ["name"]
    );
    // A path parameter that is not an id is simply not found.
    let admin = app.admin_token().await;
    app.get("/api/v1/enterprises/abc", Some(&admin))
        .await
        .problem(404, "not_found");
    // Bad query parameters are named.
    app.get("/api/v1/users?limit=0", Some(&admin))
        .await
        .invalid_fields()
        .contains(&"limit".to_owned())
        .then_some(())
        .expect("limit named");
    app.get("/api/v1/users?limit=x", Some(&admin))
        .await
        .problem(400, "malformed_request");
}

async fn request_ids_go_in_and_out(b: Backend) {
    let app = spawn_app(b).await;
    let given = app
        .request(
            Method::GET,
            "/healthz",
            None,
            None,
            &[("x-request-id", "trace-abc-123")],
        )
        .await;
    // The server's own id goes out; the client's comes back beside it.
    assert_eq!(given.header("x-request-id").unwrap().len(), 36);
    assert_eq!(
        given.header("x-client-request-id").as_deref(),
        Some("trace-abc-123")
    );
    let made = app.get("/api/v1/missing", None).await;
    let id = made.header("x-request-id").expect("generated id");
    assert_eq!(id.len(), 36);
    // Ids with control characters or of absurd length are replaced.
    let long = "x".repeat(300);
    let replaced = app
        .request(
            Method::GET,
            "/healthz",
            None,
            None,
            &[("x-request-id", &long)],
        )
        .await;
    assert_ne!(replaced.header("x-request-id"), Some(long));
    assert_eq!(replaced.header("x-client-request-id"), None);

    // The audit log records the server's id, never the client's choice.
    let admin = app.admin_token().await;
    let res = app
        .request(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some((
                "application/json",
                json!({ "email": "rev-ids@example.com", "password": "a long reviewer password",
                        "role": "reviewer" })
                .to_string()
                .into_bytes(),
            )),
            &[("x-request-id", "admin-maintenance-ticket-4711")],
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let server_id = res.header("x-request-id").unwrap();
    let user = res.json()["id"].as_i64().unwrap().to_string();
    let entries = app
        .state
        .db
        .read(move |conn| csr_assess::db::audit::for_entity(conn, "user", &user))
        .await
        .unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].request_id.as_deref(), Some(server_id.as_str()));
}

mod storage {
    use std::time::{Duration, Instant};

    use csr_assess::config::Secret;
    use csr_assess::db::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection, SqliteConnection};
    use diesel_migrations::MigrationHarness;

    use crate::helpers::{Backend, fresh_postgres, postgres_url, spawn_app, spawn_app_with};

    #[test]
    fn sqlite_migrations_can_be_redone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("redo.db").display().to_string();
        let mut conn = SqliteConnection::establish(&path).unwrap();
        conn.run_pending_migrations(SQLITE_MIGRATIONS).unwrap();
        conn.revert_all_migrations(SQLITE_MIGRATIONS).unwrap();
        conn.run_pending_migrations(SQLITE_MIGRATIONS).unwrap();
        conn.batch_execute("SELECT id, credit_code FROM enterprises")
            .unwrap();
    }

    /// An SQLite database with data goes back through the migration that rebuilt `submissions`
    /// with AUTOINCREMENT and forward again: every row stays, every reference still points at
    /// its submission, and a draft discarded before the upgrade, whose id was the highest, does
    /// not lend that id to the next submission (the audit log names it).
    #[actix_rt::test]
    async fn sqlite_submissions_survive_their_rebuild() {
        use diesel::RunQueryDsl;
        use diesel::sql_types::BigInt;

        #[derive(diesel::QueryableByName, Debug)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let count = |conn: &mut SqliteConnection, sql: &str| {
            diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
        };

        let app = spawn_app(Backend::Sqlite).await;
        let e = app.enterprise().await;
        let kept =
            crate::helpers::answered_draft(&app, &e, "C1491", crate::helpers::best_answer).await;
        let newest = app.create_submission(&e.token, "2024").await;
        app.discard(&e.token, &newest).await;

        let path = app.dir.path().join("test.db").display().to_string();
        let mut conn = SqliteConnection::establish(&path).unwrap();
        conn.batch_execute("PRAGMA busy_timeout = 5000;").unwrap();
        let answers = count(&mut conn, "SELECT COUNT(*) AS n FROM answers");
        assert!(answers > 0);
        // Back through the rebuild (and any later migration), then forward again.
        let mut reverted = Vec::new();
        while reverted.last().map(String::as_str) != Some("20261207000023") {
            assert!(reverted.len() < 20, "{reverted:?}");
            reverted.push(
                conn.revert_last_migration(SQLITE_MIGRATIONS)
                    .unwrap()
                    .to_string(),
            );
        }
        conn.run_pending_migrations(SQLITE_MIGRATIONS).unwrap();
        assert_eq!(
            count(
                &mut conn,
                "SELECT COUNT(*) AS n FROM answers a JOIN submissions s ON s.id = a.submission_id"
            ),
            answers
        );
        assert_eq!(
            count(
                &mut conn,
                "SELECT COUNT(*) AS n FROM pragma_foreign_key_check"
            ),
            0
        );
        assert_eq!(
            count(
                &mut conn,
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE sql LIKE '%submissions_rebuilt%'"
            ),
            0
        );
        // The indexes of migrations 000003, 000006 and 000007, on the same columns, and no other.
        assert_eq!(
            count(
                &mut conn,
                "SELECT COUNT(*) AS n FROM pragma_index_list('submissions') l \
                 WHERE (l.name, (SELECT group_concat(name, ',') FROM pragma_index_info(l.name))) \
                 IN (VALUES ('submissions_enterprise', 'enterprise_id,id'), \
                            ('submissions_status', 'status,submitted_at'), \
                            ('submissions_enterprise_status', 'enterprise_id,status'), \
                            ('submissions_submitted', 'enterprise_id,submitted_at'))"
            ),
            4
        );
        assert_eq!(
            count(
                &mut conn,
                "SELECT COUNT(*) AS n FROM pragma_index_list('submissions')"
            ),
            4
        );
        let next = app.create_submission(&e.token, "2024").await;
        assert!(next.id > newest.id, "{} after {}", next.id, newest.id);
        let kept_view = app.get(&kept.path, Some(&e.token)).await;
        assert_eq!(kept_view.status, 200, "{}", kept_view.text());
    }

    #[test]
    fn postgres_migrations_can_be_redone() {
        if postgres_url().is_none() {
            return;
        }
        let db = fresh_postgres();
        let mut conn = PgConnection::establish(&db.url).unwrap();
        conn.run_pending_migrations(POSTGRES_MIGRATIONS).unwrap();
        conn.revert_all_migrations(POSTGRES_MIGRATIONS).unwrap();
        conn.run_pending_migrations(POSTGRES_MIGRATIONS).unwrap();
        conn.batch_execute("SELECT id, credit_code FROM enterprises")
            .unwrap();
    }

    #[actix_rt::test]
    async fn sqlite_runs_in_wal_mode_with_durable_settings() {
        let app = spawn_app(Backend::Sqlite).await;
        let path = app.dir.path().join("test.db").display().to_string();
        let mut conn = SqliteConnection::establish(&path).unwrap();
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Mode {
            #[diesel(sql_type = diesel::sql_types::Text)]
            journal_mode: String,
        }
        let mode: Vec<Mode> = diesel::sql_query("PRAGMA journal_mode")
            .load(&mut conn)
            .unwrap();
        assert_eq!(mode[0].journal_mode, "wal");
    }

    #[actix_rt::test]
    async fn missing_postgres_database_is_created() {
        let Some(server) = postgres_url() else {
            return;
        };
        let name = format!("csr_test_{}", uuid::Uuid::new_v4().simple());
        let mut url = url::Url::parse(&server).unwrap();
        url.set_path(&format!("/{name}"));
        let app = spawn_app_with(Backend::Sqlite, |s| {
            s.database_url = Some(Secret::new(url.to_string()));
        })
        .await;
        assert_eq!(app.get("/readyz", None).await.status, 200);
        app.admin_token().await;
        drop(app);
        let mut conn = PgConnection::establish(&server).unwrap();
        conn.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .unwrap();
    }

    /// With the database gone, requests get 503 problem+json within the configured timeout,
    /// and the process keeps serving.
    #[actix_rt::test]
    async fn database_outage_is_503() {
        if postgres_url().is_none() {
            return;
        }
        let app = spawn_app_with(Backend::Postgres, |s| s.db_timeout_secs = 1).await;
        let e = app.enterprise().await;
        let server = postgres_url().unwrap();
        let mut conn = PgConnection::establish(&server).unwrap();
        let name = app.database_name().unwrap();
        conn.batch_execute(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .unwrap();
        let started = Instant::now();
        app.get("/readyz", None)
            .await
            .problem(503, "service_unavailable");
        let res = app.get("/api/v1/me", Some(&e.token)).await;
        res.problem(503, "service_unavailable");
        assert!(res.header("retry-after").is_some());
        app.login(&e.admin_email, crate::helpers::PASSWORD)
            .await
            .problem(503, "service_unavailable");
        assert!(started.elapsed() < Duration::from_secs(15));
        assert_eq!(app.get("/healthz", None).await.status, 200);
        // Back again: the pool replaces its dead connections by itself.
        conn.batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
            .unwrap();
        let mut ready = false;
        for _ in 0..50 {
            if app.get("/readyz", None).await.status == 200 {
                ready = true;
                break;
            }
            actix_rt::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "did not recover");
        assert_eq!(app.get("/api/v1/me", Some(&e.token)).await.status, 200);
    }
}

/// `nosniff` on every response, `no-store` on every response to an authenticated request (errors
/// included), and no CORS grant to any origin.
async fn security_headers_on_every_response(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let origin = [("origin", "https://evil.example")];
    let cases = [
        (Method::GET, "/healthz", None, 200),
        (Method::GET, "/openapi.json", None, 200),
        (Method::GET, "/nope", None, 404),
        (Method::GET, "/api/v1/me", Some(admin.as_str()), 200),
        (Method::GET, "/api/v1/me", Some("garbage"), 401),
        (
            Method::GET,
            "/api/v1/users/999999",
            Some(admin.as_str()),
            404,
        ),
        (Method::DELETE, "/healthz", None, 405),
        (Method::OPTIONS, "/api/v1/me", None, 405),
    ];
    for (method, path, token, status) in cases {
        let res = app
            .request(method.clone(), path, token, None, &origin)
            .await;
        assert_eq!(res.status, status, "{method} {path}: {}", res.text());
        assert_eq!(
            res.header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{method} {path}"
        );
        let cache = res.header("cache-control");
        if token.is_some() {
            assert_eq!(cache.as_deref(), Some("no-store"), "{method} {path}");
        } else {
            assert_ne!(cache.as_deref(), Some("no-store"), "{method} {path}");
        }
        assert_eq!(
            res.header("access-control-allow-origin"),
            None,
            "{method} {path}"
        );
        assert_eq!(res.header("access-control-allow-credentials"), None);
    }
}
