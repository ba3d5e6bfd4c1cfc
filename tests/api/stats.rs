//! Adoption statistics on a small fixed data set: each figure against hand-computed values,
//! scoping, suppression (complementary included) and CSV output.

use actix_web::http::Method;
use csr_assess::stats::narrower;
use serde_json::{Value, json};

use crate::helpers::{Backend, Draft, TestApp, approve, spawn_app, submitted};

backend_tests!(
    whole_country_divisions_and_provinces,
    an_industry_body_sees_only_its_scope,
    adoption_rate_against_an_uploaded_population,
    filters_and_csv,
    score_distribution_and_pass_rates,
    quarterly_trends,
    xlsx_and_svg_exports_parse,
    enterprises_get_no_statistics_and_no_names,
    no_small_group_by_differencing,
    latest_self_assessments_follow_every_status_change,
    seed_demo_fills_the_statistics,
);

/// 8 enterprises in C13 and 5 in C15 (Guangdong), 6 in C14 (Zhejiang), 3 in C27 (Beijing);
/// five C14 and one C27 self-assessments submitted; two C14 certificates, one expiring within
/// 90 days.
async fn fixture(app: &TestApp) {
    for _ in 0..8 {
        app.enterprise_with(json!({ "industry_code": "C1310", "region_code": "440106" }))
            .await;
    }
    for _ in 0..5 {
        app.enterprise_with(json!({ "industry_code": "C1511", "region_code": "440106" }))
            .await;
    }
    let (_, reviewer) = app.staff("reviewer", json!({})).await;
    for i in 0..6 {
        let e = app
            .enterprise_with(json!({ "industry_code": "C1491", "region_code": "330106" }))
            .await;
        if i < 5 {
            let id = submitted(app, &e, "C1491", 2).await;
            if i < 2 {
                approve(app, &reviewer, id).await;
            }
        }
    }
    for i in 0..3 {
        let e = app
            .enterprise_with(json!({ "industry_code": "C2710", "region_code": "110101" }))
            .await;
        if i == 0 {
            submitted(app, &e, "C2710", 2).await;
        }
    }
    let soon = (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string();
    app.state
        .db
        .write(move |conn| {
            use csr_assess::db::schema::certificates::dsl::*;
            use diesel::prelude::*;
            diesel::update(certificates.filter(id.eq(1)))
                .set(expires_on.eq(soon))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
}

fn fig(v: &Value) -> Option<f64> {
    v["value"].as_f64()
}

/// A count: an integer, or null when suppressed.
fn count(v: &Value) -> Option<i64> {
    let value = &v["value"];
    assert!(
        value.is_null() || value.is_i64(),
        "not an integer count: {v}"
    );
    value.as_i64()
}

/// The review's attack, generalised: ask the funnel for every filter and grouping over the
/// fixture, and work out every cell (industry prefix, region prefix) the answers describe.
/// Every figure covers five enterprises or more, the same cell always has the same figure, and
/// a cell minus its listed children, along either hierarchy, leaves 0 or five or more: no
/// group of fewer than five can be obtained by subtraction.
async fn no_small_group_by_differencing(b: Backend) {
    let app = spawn_app(b).await;
    fixture(&app).await;
    let admin = app.admin_token().await;
    let mut cells: std::collections::BTreeMap<(String, String), f64> = Default::default();
    for industry in [
        "", "C", "C13", "C14", "C15", "C27", "C149", "C1491", "C2710",
    ] {
        for region in ["", "44", "33", "11", "4401", "440106", "330106"] {
            for group_by in ["none", "section", "division", "province"] {
                let f = app
                    .get(
                        &format!(
                            "/api/v1/stats/funnel?industry={industry}&region={region}&group_by={group_by}"
                        ),
                        Some(&admin),
                    )
                    .await
                    .json();
                let mut seen = vec![(String::new(), f["total"].clone())];
                for r in f["rows"].as_array().unwrap() {
                    seen.push((r["group"].as_str().unwrap().to_owned(), r.clone()));
                }
                for (group, row) in seen {
                    let Some(n) = fig(&row["registered"]) else {
                        continue;
                    };
                    let (gi, gr) = match group_by {
                        "province" => ("", group.as_str()),
                        "none" => ("", ""),
                        _ => (group.as_str(), ""),
                    };
                    let cell = (
                        narrower(industry, gi).unwrap().to_owned(),
                        narrower(region, gr).unwrap().to_owned(),
                    );
                    assert!(n >= 5.0, "{cell:?} shows {n}");
                    if let Some(before) = cells.insert(cell.clone(), n) {
                        assert_eq!(before, n, "{cell:?}");
                    }
                }
            }
        }
    }
    // Section C and the province of Guangdong are published, with what they are made of.
    assert_eq!(cells.get(&("C".into(), String::new())), Some(&22.0));
    assert_eq!(cells.get(&(String::new(), "44".into())), Some(&13.0));
    let next = |code: &str, levels: &[usize]| levels.iter().copied().find(|l| *l > code.len());
    for ((i, r), n) in &cells {
        let children = |industry_side: bool| -> f64 {
            cells
                .iter()
                .filter(|((ci, cr), _)| {
                    if industry_side {
                        cr == r
                            && ci.starts_with(i.as_str())
                            && next(i, &[1, 3, 4, 5]) == Some(ci.len())
                    } else {
                        ci == i
                            && cr.starts_with(r.as_str())
                            && next(r, &[2, 4, 6]) == Some(cr.len())
                    }
                })
                .map(|(_, m)| m)
                .sum()
        };
        for rest in [n - children(true), n - children(false)] {
            assert!(rest == 0.0 || rest >= 5.0, "({i}, {r}) leaves {rest}");
        }
    }
}

/// The fixture's statistics: an administrator and an industry body for C14.
struct Stats {
    app: TestApp,
    admin: String,
    body: String,
}

async fn stats_app(b: Backend) -> Stats {
    let app = spawn_app(b).await;
    fixture(&app).await;
    let admin = app.admin_token().await;
    let (_, body) = app
        .staff("industry_body", json!({ "industry_scopes": ["C14"] }))
        .await;
    Stats { app, admin, body }
}

/// The six self-assessed totals in submission order (five equal C14 ones, then the C27 one),
/// and their mean as the statistics round it.
async fn self_assessed(app: &TestApp) -> (f64, f64, f64) {
    let scores: Vec<f64> = app
        .state
        .db
        .read(|conn| {
            use csr_assess::db::schema::submissions::dsl::*;
            use diesel::prelude::*;
            Ok(submissions
                .order(id)
                .select(score_total)
                .load::<Option<f64>>(conn)?)
        })
        .await
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(scores.len(), 6);
    let (c14, c27) = (scores[0], scores[5]);
    assert!(scores[..5].iter().all(|s| *s == c14));
    let mean = ((5.0 * c14 + c27) / 6.0 * 100.0).round() / 100.0;
    (c14, c27, mean)
}

/// The funnel of the whole country, by division and by province: groups under five enterprises,
/// and groups that would reveal them by difference, are not shown.
async fn whole_country_divisions_and_provinces(b: Backend) {
    let Stats { app, admin, .. } = stats_app(b).await;
    // The whole country.
    let f = app.get("/api/v1/stats/funnel", Some(&admin)).await.json();
    let t = &f["total"];
    assert_eq!(
        (
            count(&t["registered"]),
            count(&t["self_assessed"]),
            count(&t["certified"]),
            count(&t["expiring_90_days"])
        ),
        (Some(22), Some(6), Some(2), Some(1)),
        "{f}"
    );
    // Counts are written as integers (`22`, not `22.0`), in every grouping.
    for group_by in ["none", "section", "division", "province"] {
        let f = app
            .get(
                &format!("/api/v1/stats/funnel?group_by={group_by}"),
                Some(&admin),
            )
            .await
            .json();
        for row in f["rows"].as_array().unwrap().iter().chain([&f["total"]]) {
            for field in [
                "registered",
                "self_assessed",
                "certified",
                "expiring_90_days",
            ] {
                count(&row[field]);
            }
        }
    }
    assert_eq!(f["min_group"], 5);

    // By division: C27 (3) is not listed, nor is the smallest other division (C15, 5), or C27
    // could be computed from the total; what section C has beyond the listed divisions is a
    // group of 8.
    let f = app
        .get("/api/v1/stats/funnel?group_by=division", Some(&admin))
        .await
        .json();
    let rows: Vec<&Value> = f["rows"].as_array().unwrap().iter().collect();
    let row = |g: &str| rows.iter().find(|r| r["group"] == g).copied();
    assert_eq!(fig(&row("C13").unwrap()["registered"]), Some(8.0));
    assert_eq!(fig(&row("C13").unwrap()["self_assessed"]), Some(0.0));
    assert_eq!(fig(&row("C14").unwrap()["registered"]), Some(6.0));
    assert!(row("C15").is_none() && row("C27").is_none(), "{f}");
    // By province the same holds: Beijing (3) and Zhejiang (6) hidden, Guangdong shown.
    let f = app
        .get("/api/v1/stats/funnel?group_by=province", Some(&admin))
        .await
        .json();
    let shown: Vec<&str> = f["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["registered"]["suppressed"] == false)
        .map(|r| r["group"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["44"]);
}

/// An industry body for C14 sees C14 only, in every figure, and is refused other industries.
async fn an_industry_body_sees_only_its_scope(b: Backend) {
    let Stats { app, body, .. } = stats_app(b).await;
    // An industry body for C14 sees C14 only, in every form.
    let f = app
        .get("/api/v1/stats/funnel?group_by=division", Some(&body))
        .await
        .json();
    let groups: Vec<&str> = f["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["group"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["C14"]);
    let t = &f["total"];
    assert_eq!(
        (
            fig(&t["registered"]),
            fig(&t["self_assessed"]),
            fig(&t["certified"])
        ),
        (Some(6.0), Some(5.0), Some(2.0))
    );
    app.get("/api/v1/stats/funnel?industry=C27", Some(&body))
        .await
        .problem(403, "forbidden");
    app.get("/api/v1/stats/levels?industry=C2710", Some(&body))
        .await
        .problem(403, "forbidden");
    app.get("/api/v1/stats/funnel?industry=C", Some(&body))
        .await
        .problem(403, "forbidden");
    let levels = app
        .get("/api/v1/stats/levels?group_by=division", Some(&body))
        .await
        .json();
    assert!(
        levels
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["group"] == "C14"),
        "{levels}"
    );
    // Two certificates are too few to show.
    assert_eq!(levels[0]["levels"]["good"]["suppressed"], true, "{levels}");
}

/// Populations uploaded by an industry body give adoption rates, within its scope only.
async fn adoption_rate_against_an_uploaded_population(b: Backend) {
    let Stats { app, body, .. } = stats_app(b).await;
    // Adoption rate against an uploaded population.
    let csv = "industry,region,count\nC14,,12\n";
    let res = app
        .request(
            Method::PUT,
            "/api/v1/stats/populations",
            Some(&body),
            Some(("text/csv", csv.as_bytes().to_vec())),
            &[],
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let f = app
        .get("/api/v1/stats/funnel?industry=C14", Some(&body))
        .await
        .json();
    assert_eq!(fig(&f["total"]["adoption_rate"]), Some(0.1667));
    let res = app
        .request(
            Method::PUT,
            "/api/v1/stats/populations",
            Some(&body),
            Some(("text/csv", b"C27,,5\n".to_vec())),
            &[],
        )
        .await;
    res.problem(403, "forbidden");
    let res = app
        .request(
            Method::PUT,
            "/api/v1/stats/populations",
            Some(&body),
            Some(("text/csv", b"C14,99,x\n".to_vec())),
            &[],
        )
        .await;
    assert_eq!(res.invalid_fields(), ["line 1"]);
}

/// Period and version filters narrow the self-assessments; CSV says where a cell is suppressed.
async fn filters_and_csv(b: Backend) {
    let Stats { app, admin, .. } = stats_app(b).await;
    // Filters: period and version narrow the self-assessments.
    let f = app
        .get("/api/v1/stats/funnel?period=2001", Some(&admin))
        .await
        .json();
    assert_eq!(fig(&f["total"]["self_assessed"]), Some(0.0));
    let f = app
        .get("/api/v1/stats/funnel?version=2024", Some(&admin))
        .await
        .json();
    assert_eq!(fig(&f["total"]["self_assessed"]), Some(6.0));
    app.get("/api/v1/stats/funnel?period=soon", Some(&admin))
        .await
        .invalid_fields();
    app.get("/api/v1/stats/funnel?group_by=planet", Some(&admin))
        .await
        .invalid_fields();

    // CSV parses, and says where a cell is suppressed.
    let res = app
        .get(
            "/api/v1/stats/funnel?group_by=division&format=csv",
            Some(&admin),
        )
        .await;
    assert!(res.header("content-type").unwrap().starts_with("text/csv"));
    let text = res.text();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        lines[0],
        [
            "group",
            "registered",
            "self_assessed",
            "certified",
            "expiring_90_days",
            "adoption_rate"
        ]
    );
    assert!(lines.iter().all(|l| l.len() == 6));
    assert!(!lines.iter().any(|l| l[0] == "C27" || l[0] == "C15"));
    assert_eq!(lines.last().unwrap()[..2], ["total", "22"]);
    let by_accept = app
        .request(
            Method::GET,
            "/api/v1/stats/levels",
            Some(&admin),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    assert!(by_accept.text().starts_with("group,level,certificates"));
}

/// Score figures over the latest self-assessments: mean, median, quartiles, the histogram and
/// the lowest pass rates, each hidden below five enterprises.
async fn score_distribution_and_pass_rates(b: Backend) {
    let Stats { app, admin, body } = stats_app(b).await;
    let (c14, _, mean) = self_assessed(&app).await;
    // Score distribution: five C14 self-assessments with the same answers and one C27.
    let d = app.get("/api/v1/stats/scores", Some(&admin)).await.json();
    assert_eq!(fig(&d["total"]["enterprises"]), Some(6.0));
    assert_eq!(fig(&d["total"]["mean"]), Some(mean), "{d}");
    assert_eq!(fig(&d["total"]["median"]), Some(c14));
    // Sorted, five of the six values are c14: the first and second quartiles fall on them.
    assert_eq!(fig(&d["total"]["q1"]), Some(c14));
    let bucket = ((c14 / 10.0).floor() as usize).min(9);
    let shown: Vec<&Value> = d["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["enterprises"]["suppressed"] == false && fig(&b["enterprises"]) != Some(0.0))
        .collect();
    for b in &shown {
        assert!(fig(&b["enterprises"]).unwrap() >= 5.0, "{b}");
    }
    // The bucket holding the five (or six) is shown.
    assert_eq!(
        d["histogram"][bucket]["enterprises"]["suppressed"], false,
        "{d}"
    );
    assert!(d["themes"]["lawful"]["median"]["value"].is_number());
    // The C14 body sees its five; C27 alone (one enterprise) is hidden from everyone.
    let d = app.get("/api/v1/stats/scores", Some(&body)).await.json();
    assert_eq!(
        (fig(&d["total"]["enterprises"]), fig(&d["total"]["mean"])),
        (Some(5.0), Some(c14))
    );
    let d = app
        .get("/api/v1/stats/scores?industry=C27", Some(&admin))
        .await
        .json();
    assert_eq!(d["total"]["mean"]["suppressed"], true);
    assert!(
        d["histogram"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["enterprises"]["suppressed"] == true || fig(&b["enterprises"]) == Some(0.0))
    );

    // Pass rates, lowest first, only over criteria five or more enterprises scored.
    let p = app.get("/api/v1/stats/criteria", Some(&body)).await.json();
    let rates: Vec<f64> = p["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["pass_rate"].as_f64().unwrap())
        .collect();
    assert!(!rates.is_empty() && rates.len() <= 10);
    assert!(rates.windows(2).all(|w| w[0] <= w[1]));
    assert!(
        p["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["enterprises"] == 5)
    );
    let p = app
        .get("/api/v1/stats/criteria?industry=C27", Some(&admin))
        .await
        .json();
    assert!(p["criteria"].as_array().unwrap().is_empty() && p["withheld"] == true);
}

/// Trends by quarter, as JSON and CSV.
async fn quarterly_trends(b: Backend) {
    let Stats { app, admin, .. } = stats_app(b).await;
    let (_, _, mean) = self_assessed(&app).await;
    // Trends: this quarter, six enterprises self-assessed; two certificates are too few to show.
    let quarter = csr_assess::stats::quarter_of(chrono::Utc::now().date_naive());
    let t = app.get("/api/v1/stats/trends", Some(&admin)).await.json();
    let row = t
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["quarter"] == quarter.as_str())
        .unwrap()
        .clone();
    assert_eq!(count(&row["self_assessed"]), Some(6));
    assert_eq!(fig(&row["mean_score"]), Some(mean));
    assert_eq!(row["certified"]["suppressed"], true);
    let csv = app
        .get("/api/v1/stats/trends?format=csv", Some(&admin))
        .await
        .text();
    assert!(
        csv.starts_with("quarter,self_assessed,mean_score,certified\n"),
        "{csv}"
    );
    let csv = app
        .get("/api/v1/stats/scores?format=csv", Some(&admin))
        .await
        .text();
    assert!(csv.lines().count() >= 2 && csv.lines().all(|l| l.split(',').count() == 6));
    // Figures without groups refuse `group_by` instead of ignoring it.
    for figure in ["scores", "criteria", "trends"] {
        let p = app
            .get(
                &format!("/api/v1/stats/{figure}?group_by=division"),
                Some(&admin),
            )
            .await
            .problem(400, "malformed_request");
        assert!(
            p["detail"].as_str().unwrap().contains("`group_by`"),
            "{figure}: {p}"
        );
    }
}

/// XLSX opens as a workbook and SVG as XML, both checked by an independent parser.
async fn xlsx_and_svg_exports_parse(b: Backend) {
    let Stats { app, admin, .. } = stats_app(b).await;
    // XLSX opens as a workbook and SVG as XML, both checked by an independent parser.
    let parse = |code: &str, bytes: &[u8]| {
        let path = app.dir.path().join("export.bin");
        std::fs::write(&path, bytes).unwrap();
        let out = std::process::Command::new("python3")
            .args(["-c", code])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let read_xlsx = "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
        print(''.join(z.read(n).decode() for n in z.namelist() if n.startswith('xl/')))";
    for figure in ["funnel", "levels", "scores", "criteria", "trends"] {
        let res = app
            .get(&format!("/api/v1/stats/{figure}?format=xlsx"), Some(&admin))
            .await;
        assert_eq!(res.status, 200, "{figure}: {}", res.text());
        assert!(
            res.header("content-type")
                .unwrap()
                .contains("spreadsheetml")
        );
        let xml = parse(read_xlsx, &res.body);
        assert!(
            xml.contains("<worksheet") && xml.contains("<sheetData"),
            "{figure}"
        );
    }
    let xml = parse(
        read_xlsx,
        &app.get(
            "/api/v1/stats/funnel?format=xlsx&group_by=division",
            Some(&admin),
        )
        .await
        .body,
    );
    assert!(xml.contains("registered") && xml.contains("suppressed") && xml.contains("C13"));
    let read_svg = "import sys; from xml.dom import minidom; d = minidom.parse(sys.argv[1]); \
        print(d.documentElement.tagName, len(d.getElementsByTagName('rect')))";
    for figure in ["funnel", "levels", "scores", "criteria", "trends"] {
        let res = app
            .get(&format!("/api/v1/stats/{figure}?format=svg"), Some(&admin))
            .await;
        assert_eq!(
            res.header("content-type").as_deref(),
            Some("image/svg+xml"),
            "{figure}"
        );
        let out = parse(read_svg, &res.body);
        assert!(out.starts_with("svg "), "{figure}: {out}");
    }
    let by_accept = app
        .request(
            Method::GET,
            "/api/v1/stats/funnel",
            Some(&admin),
            None,
            &[("accept", "image/svg+xml")],
        )
        .await;
    assert!(by_accept.text().starts_with("<svg"));
    app.get("/api/v1/stats/levels?format=pdf", Some(&admin))
        .await
        .invalid_fields();
}

/// Enterprises get no statistics, and no figure names an enterprise.
async fn enterprises_get_no_statistics_and_no_names(b: Backend) {
    let Stats { app, admin, .. } = stats_app(b).await;
    // No statistics for enterprises; no enterprise names anywhere.
    let e = app.enterprise().await;
    app.get("/api/v1/stats/funnel", Some(&e.token))
        .await
        .problem(403, "forbidden");
    let all = app
        .get("/api/v1/stats/funnel?group_by=division", Some(&admin))
        .await
        .text();
    assert!(!all.contains("有限公司"));
}

/// `seed-demo` on each backend, in three batches written two at a time: the bulk-written
/// latest self-assessments and the counted figures agree with the submissions, and the figures
/// read from them equal those recomputed from the submissions.
async fn seed_demo_fills_the_statistics(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let pg = (b == Backend::Postgres).then(crate::helpers::fresh_postgres);
    let db = match &pg {
        Some(fresh) => fresh.url.clone(),
        None => dir.path().join("csr-assess.db").display().to_string(),
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_csr-assess"))
        .args([
            "--data-dir",
            &data,
            "seed-demo",
            "--enterprises",
            "450",
            "--submissions-per-enterprise",
            "2",
            "--seed",
            "7",
        ])
        .env("DATABASE_URL", &db)
        .env_remove("CSR_JWT_KEYS")
        .env("CSR_ADMIN_PASSWORD", crate::helpers::ADMIN_PASSWORD)
        .env("CSR_ADMIN_EMAIL", crate::helpers::ADMIN_EMAIL)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("450/450") && stderr.contains("900 self-assessments"),
        "{stderr}"
    );
    let keys = dir.path().join("keys");
    let app = crate::helpers::spawn_app_with(b, |s| {
        s.database_url = Some(csr_assess::config::Secret::new(db));
        // The keys that signed the demo certificates.
        s.keys_dir = Some(keys);
    })
    .await;
    let admin = app.admin_token().await;
    let f = app.get("/api/v1/stats/funnel", Some(&admin)).await.json();
    assert_eq!(fig(&f["total"]["registered"]), Some(450.0));
    assert_eq!(fig(&f["total"]["self_assessed"]), Some(450.0));
    let certified = fig(&f["total"]["certified"]).unwrap_or(0.0);
    assert!(certified > 0.0 && certified <= 450.0, "{f}");
    // Valid identifiers throughout: every enterprise reads back through the API.
    let list = app
        .get("/api/v1/enterprises?limit=200", Some(&admin))
        .await
        .json();
    for e in list["items"].as_array().unwrap() {
        csr_assess::domain::CreditCode::parse(e["credit_code"].as_str().unwrap()).unwrap();
        csr_assess::domain::IndustryCode::parse(e["industry_code"].as_str().unwrap()).unwrap();
        csr_assess::domain::RegionCode::parse(e["region_code"].as_str().unwrap()).unwrap();
    }
    let d = app.get("/api/v1/stats/scores", Some(&admin)).await.json();
    assert_eq!(fig(&d["total"]["enterprises"]), Some(450.0));
    // Certificates from the demo verify like any other.
    let dir_list = app
        .get("/api/v1/public/certificates?limit=1", None)
        .await
        .json();
    assert_eq!(dir_list["items"][0]["signature_valid"], true);
    assert_latest_in_step(&app).await;
    let year = chrono::Utc::now().date_naive().format("%Y").to_string();
    for figure in ["scores", "criteria", "trends"] {
        let fast = app
            .get(&format!("/api/v1/stats/{figure}"), Some(&admin))
            .await
            .json();
        let slow = app
            .get(
                &format!("/api/v1/stats/{figure}?period={year}"),
                Some(&admin),
            )
            .await
            .json();
        assert_eq!(fast, slow, "{figure}");
    }
    drop(pg);
}

/// The maintained `latest_self_assessments` rows against the latest counted submission of each
/// enterprise computed from the submissions themselves.
async fn assert_latest_in_step(app: &TestApp) {
    let (kept, computed) = app
        .state
        .db
        .read(|conn| {
            use csr_assess::db::schema::{
                latest_self_assessments as l, latest_theme_scores as lt,
                submission_theme_scores as t, submissions as s,
            };
            use diesel::dsl::max;
            use diesel::prelude::*;
            let kept: Vec<(i64, i64, Option<f64>)> = l::table
                .order(l::enterprise_id)
                .select((l::enterprise_id, l::submission_id, l::score_total))
                .load(conn)?;
            let ids: Vec<(i64, Option<i64>)> = s::table
                .filter(s::status.eq_any(csr_assess::db::submissions::counted()))
                .group_by(s::enterprise_id)
                .select((s::enterprise_id, max(s::id)))
                .order(s::enterprise_id)
                .load(conn)?;
            let mut computed = Vec::new();
            let mut themes_computed = Vec::new();
            for (e, id) in ids {
                let id = id.unwrap_or_default();
                let score: Option<f64> = s::table.find(id).select(s::score_total).first(conn)?;
                computed.push((e, id, score));
                let themes: Vec<(String, f64)> = t::table
                    .filter(t::submission_id.eq(id))
                    .select((t::theme_id, t::score))
                    .load(conn)?;
                themes_computed.extend(themes.into_iter().map(|(theme, v)| (e, theme, v)));
            }
            themes_computed.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            let themes_kept: Vec<(i64, String, f64)> = lt::table
                .order((lt::enterprise_id, lt::theme_id))
                .select((lt::enterprise_id, lt::theme_id, lt::score))
                .load(conn)?;
            Ok(((kept, themes_kept), (computed, themes_computed)))
        })
        .await
        .unwrap();
    assert_eq!(kept.0, computed.0);
    assert_eq!(kept.1, computed.1);
    assert_eq!(kept.1.is_empty(), kept.0.is_empty());
    assert_rollups_in_step(app).await;
}

/// The criterion counts and quarters kept step by step equal those counted again from the
/// submissions by `rollups::rebuild`.
async fn assert_rollups_in_step(app: &TestApp) {
    type Counts = Vec<(String, String, String, i64, i64)>;
    type Quarters = Vec<(i64, String, i64, i64, i64)>;
    type Scores = Vec<(String, String, i64, i64)>;
    fn read(
        conn: &mut csr_assess::db::AnyConnection,
    ) -> csr_assess::error::AppResult<(Counts, Quarters, Scores)> {
        use csr_assess::db::schema::{latest_criterion_counts as c, self_assessment_quarters as q};
        use diesel::prelude::*;
        let counts: Counts = c::table
            .filter(c::enterprises.ne(0).or(c::passed.ne(0)))
            .order((c::industry_code, c::region_code, c::criterion_id))
            .select((
                c::industry_code,
                c::region_code,
                c::criterion_id,
                c::enterprises,
                c::passed,
            ))
            .load(conn)?;
        let quarters: Vec<(i64, String, i64, i64, f64)> = q::table
            .order((q::enterprise_id, q::quarter))
            .select((
                q::enterprise_id,
                q::quarter,
                q::submissions,
                q::scored,
                q::score_sum,
            ))
            .load(conn)?;
        // Sums of scores in hundredths: the two ways add them in different orders.
        let quarters = quarters
            .into_iter()
            .map(|(e, q, n, s, sum)| (e, q, n, s, (sum * 100.0).round() as i64))
            .collect();
        use csr_assess::db::schema::latest_score_counts as sc;
        let scores: Vec<(String, String, f64, i64)> = sc::table
            .filter(sc::enterprises.ne(0))
            .order((sc::industry_code, sc::theme_id, sc::score))
            .select((sc::industry_code, sc::theme_id, sc::score, sc::enterprises))
            .load(conn)?;
        let scores = scores
            .into_iter()
            .map(|(i, t, v, n)| (i, t, (v * 100.0).round() as i64, n))
            .collect();
        Ok((counts, quarters, scores))
    }
    let (kept, rebuilt) = app
        .state
        .db
        .write(|conn| {
            let kept = read(conn)?;
            csr_assess::db::rollups::rebuild(conn)?;
            Ok((kept, read(conn)?))
        })
        .await
        .unwrap();
    assert!(!rebuilt.0.is_empty() && !rebuilt.1.is_empty() && !rebuilt.2.is_empty());
    assert_eq!(kept.0, rebuilt.0);
    assert_eq!(kept.1, rebuilt.1);
    assert_eq!(kept.2, rebuilt.2);
}

/// The figures read from the maintained table equal those recomputed from the submissions (a
/// period filter takes the recomputing path) through submission, resubmission and withdrawal.
async fn latest_self_assessments_follow_every_status_change(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let mut firms = Vec::new();
    let mut firsts = Vec::new();
    for _ in 0..6 {
        let e = app
            .enterprise_with(json!({ "industry_code": "C1491", "region_code": "330106" }))
            .await;
        firsts.push(submitted(&app, &e, "C1491", 2).await);
        firms.push(e);
    }
    assert_latest_in_step(&app).await;
    let year = chrono::Utc::now().date_naive().format("%Y").to_string();
    let both = |path: &'static str| {
        let (app, admin, year) = (&app, &admin, &year);
        async move {
            let fast = app.get(path, Some(admin)).await.json();
            let sep = if path.contains('?') { '&' } else { '?' };
            let slow = app
                .get(&format!("{path}{sep}period={year}"), Some(admin))
                .await
                .json();
            assert_eq!(fast, slow, "{path}");
            fast
        }
    };
    let before = both("/api/v1/stats/scores?industry=C14").await;
    assert_eq!(before["total"]["q3"], before["total"]["median"], "{before}");

    // A second, better self-assessment replaces the first in the figures.
    let second = submitted(&app, &firms[0], "C1491", 4).await;
    assert_latest_in_step(&app).await;
    let after = both("/api/v1/stats/scores?industry=C14").await;
    assert_eq!(fig(&after["total"]["enterprises"]), Some(6.0));
    assert!(
        fig(&after["total"]["mean"]) > fig(&before["total"]["mean"]),
        "{after}"
    );
    both("/api/v1/stats/funnel?group_by=division").await;
    let criteria = both("/api/v1/stats/criteria?industry=C1491").await;
    assert!(
        !criteria["criteria"].as_array().unwrap().is_empty(),
        "{criteria}"
    );
    let trends = both("/api/v1/stats/trends?industry=C14").await;
    assert_eq!(count(&trends[0]["self_assessed"]), Some(6), "{trends}");

    // Withdrawing it brings the first back.
    let mut d = Draft {
        id: second,
        etag: String::new(),
        path: format!("/api/v1/submissions/{second}"),
    };
    app.etag_of(&firms[0].token, &mut d).await;
    let res = app
        .send_if_match(
            Method::POST,
            &format!("{}/withdraw", d.path),
            &firms[0].token,
            &d.etag,
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_latest_in_step(&app).await;
    assert_eq!(both("/api/v1/stats/scores?industry=C14").await, before);
    both("/api/v1/stats/criteria?industry=C1491").await;
    both("/api/v1/stats/trends?industry=C14").await;

    // Returned, improved and submitted again, the same submission replaces its own figures.
    let (_, reviewer) = app.staff("reviewer", json!({})).await;
    let id = firsts[1];
    crate::helpers::claim_and_decide(&app, &reviewer, id).await;
    let res = app
        .post(
            &format!("/api/v1/reviews/{id}/return"),
            Some(&reviewer),
            &json!({ "comment": "请完善后重新提交" }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let mut d = Draft {
        id,
        etag: String::new(),
        path: format!("/api/v1/submissions/{id}"),
    };
    app.etag_of(&firms[1].token, &mut d).await;
    let criteria = app.criteria_of(&firms[1].token, "C1491", "2024").await;
    let better: serde_json::Map<String, Value> = criteria
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                crate::helpers::best_answer(c),
            )
        })
        .collect();
    app.answer_all(&firms[1].token, &mut d, better).await;
    let res = app
        .send_if_match(
            Method::POST,
            &format!("{}/submit", d.path),
            &firms[1].token,
            &d.etag,
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_latest_in_step(&app).await;
    let resubmitted = both("/api/v1/stats/scores?industry=C14").await;
    assert!(
        fig(&resubmitted["total"]["mean"]) > fig(&before["total"]["mean"]),
        "{resubmitted}"
    );
    both("/api/v1/stats/criteria?industry=C1491").await;
}
