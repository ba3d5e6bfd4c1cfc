//! The enterprise workflow the clients run, and what the server acknowledged.

use super::*;

/// What the server acknowledged, to look up afterwards.
#[derive(Default)]
pub(crate) struct Acknowledged {
    /// (submission, criterion) → last acknowledged value.
    pub(crate) answers: HashMap<(i64, String), Value>,
    /// Approved submissions and their certificate numbers.
    pub(crate) certificates: Vec<(i64, String)>,
}

pub(crate) struct Actor {
    pub(crate) token: String,
}

pub(crate) struct Fixture {
    pub(crate) criteria: Vec<Value>,
    pub(crate) enterprises: Vec<Actor>,
    pub(crate) reviewers: Vec<Actor>,
}

pub(crate) fn answer_for(c: &Value, variant: usize) -> Value {
    match c["kind"].as_str().unwrap_or_default() {
        "yes_no" => json!({ "value": variant.is_multiple_of(2) }),
        "maturity" => json!({ "value": 2 + variant % 2 }),
        "single_choice" => {
            json!({ "value": c["options"][variant % c["options"].as_array().map_or(1, |a| a.len().max(1))]["id"] })
        }
        "multiple_choice" => json!({ "value": [c["options"][0]["id"]] }),
        "measured" => json!({ "value": c["measure"]["bands"][0]["threshold"] }),
        _ => json!({ "value": format!("我们开展了消费者教育活动，第 {variant} 次更新。") }),
    }
}

/// A value for the first workflow pass that keeps the level one reviewer may approve.
pub(crate) fn workflow_answer(c: &Value) -> Value {
    if c["kind"] == "maturity" {
        json!({ "value": 2 })
    } else {
        answer_for(c, 0)
    }
}

pub(crate) fn multipart(criteria: &str) -> (String, Vec<u8>) {
    let boundary = "csr-load-boundary-4f9a7c";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"criteria\"\r\n\r\n{criteria}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"proof.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(PNG);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub(crate) async fn login(http: &Http, email: &str) -> Res<String> {
    let res = http
        .send(
            "login",
            Req::new(Method::POST, "/api/v1/auth/login")
                .json(&json!({ "email": email, "password": PASSWORD })),
        )
        .await?
        .expect("login", 200)?;
    Ok(res.json()["access_token"]
        .as_str()
        .ok_or("no access token")?
        .to_owned())
}

pub(crate) async fn setup(http: &Http, clients: usize) -> Res<Fixture> {
    let admin = login(http, ADMIN_EMAIL).await?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let mut enterprises = Vec::new();
    let mut reviewers = Vec::new();
    for i in 0..clients {
        let email = format!("boss{i}-{stamp}@load.invalid");
        http.send(
            "register",
            Req::new(Method::POST, "/api/v1/enterprises").json(&json!({
                "credit_code": csr_assess::demo::credit_code(10, stamp % 100_000 * 100 + i as u64),
                "name": format!("负载测试食品有限公司{i}"),
                "industry_code": INDUSTRY,
                "region_code": "330106",
                "size": "small",
                "contact_email": "contact@load.invalid",
                "admin_email": email,
                "admin_password": PASSWORD,
            })),
        )
        .await?
        .expect("register", 201)?;
        enterprises.push(Actor {
            token: login(http, &email).await?,
        });
        let email = format!("reviewer{i}-{stamp}@load.invalid");
        http.send(
            "create_reviewer",
            Req::new(Method::POST, "/api/v1/users")
                .token(&admin)
                .json(&json!({ "email": email, "password": PASSWORD, "role": "reviewer" })),
        )
        .await?
        .expect("create_reviewer", 201)?;
        reviewers.push(Actor {
            token: login(http, &email).await?,
        });
    }
    let path =
        format!("/api/v1/schemas/cca-good-enterprise/versions/2024/resolved?industry={INDUSTRY}");
    let criteria = http
        .send(
            "schema",
            Req::new(Method::GET, &path).token(&enterprises[0].token),
        )
        .await?
        .expect("schema", 200)?
        .json()["criteria"]
        .as_array()
        .ok_or("no criteria")?
        .clone();
    Ok(Fixture {
        criteria,
        enterprises,
        reviewers,
    })
}

pub(crate) async fn create_submission(http: &Http, token: &str) -> Res<(i64, String)> {
    let res = http
        .send(
            "create_submission",
            Req::new(Method::POST, "/api/v1/submissions")
                .token(token)
                .json(&json!({ "schema_id": "cca-good-enterprise", "version": "2024" })),
        )
        .await?
        .expect("create_submission", 201)?;
    let id = res.json()["id"].as_i64().ok_or("no id")?;
    Ok((id, res.etag()?))
}

pub(crate) async fn save_answer(
    http: &Http,
    ack: &RefCell<Acknowledged>,
    token: &str,
    id: i64,
    etag: &mut String,
    c: &Value,
    answer: Value,
) -> Res<()> {
    let criterion = c["id"].as_str().ok_or("criterion id")?;
    let path = format!("/api/v1/submissions/{id}/answers/{criterion}");
    let res = http
        .send(
            "answer_save",
            Req::new(Method::PUT, &path)
                .token(token)
                .if_match(etag)
                .json(&answer),
        )
        .await?
        .expect("answer_save", 200)?;
    *etag = res.etag()?;
    ack.borrow_mut()
        .answers
        .insert((id, criterion.to_owned()), answer["value"].clone());
    Ok(())
}

/// One whole workflow for enterprise and reviewer `c`.
pub(crate) async fn workflow(
    http: &Http,
    fx: &Fixture,
    ack: &RefCell<Acknowledged>,
    c: usize,
) -> Res<()> {
    let (token, reviewer) = (&fx.enterprises[c].token, &fx.reviewers[c].token);
    let (id, mut etag) = create_submission(http, token).await?;
    for criterion in &fx.criteria {
        save_answer(
            http,
            ack,
            token,
            id,
            &mut etag,
            criterion,
            workflow_answer(criterion),
        )
        .await?;
    }
    let mut all = serde_json::Map::new();
    for criterion in &fx.criteria {
        let key = criterion["id"].as_str().ok_or("criterion id")?.to_owned();
        all.insert(key, workflow_answer(criterion));
    }
    let path = format!("/api/v1/submissions/{id}/answers");
    http.send(
        "answers_bulk",
        Req::new(Method::PATCH, &path)
            .token(token)
            .if_match(&etag)
            .json(&json!({ "answers": all })),
    )
    .await?
    .expect("answers_bulk", 200)?;
    for (criterion, answer) in all {
        ack.borrow_mut()
            .answers
            .insert((id, criterion), answer["value"].clone());
    }
    let needs: Vec<&str> = fx
        .criteria
        .iter()
        .filter(|c| c["evidence"]["required"] == true)
        .filter_map(|c| c["id"].as_str())
        .collect();
    let (ct, body) = multipart(&needs.join(","));
    let path = format!("/api/v1/submissions/{id}/evidence");
    let licence = http
        .send(
            "evidence_upload",
            Req::new(Method::POST, &path).token(token).body(ct, body),
        )
        .await?
        .expect("evidence_upload", 201)?
        .json();
    let path = format!("/api/v1/submissions/{id}");
    etag = http
        .send("submission_read", Req::new(Method::GET, &path).token(token))
        .await?
        .expect("submission_read", 200)?
        .etag()?;
    let path = format!("/api/v1/submissions/{id}/submit");
    http.send(
        "submit",
        Req::new(Method::POST, &path).token(token).if_match(&etag),
    )
    .await?
    .expect("submit", 200)?;
    let path = format!("/api/v1/submissions/{id}");
    let score = http
        .send("score_read", Req::new(Method::GET, &path).token(token))
        .await?
        .expect("score_read", 200)?
        .json();
    if score["score"]["total"].as_f64().is_none() {
        return Err(format!("submission {id} has no score: {score}").into());
    }
    // The reviewer checks the enterprise's licence (the uploaded file) before approving.
    let path = format!("/api/v1/enterprises/{}/verify", score["enterprise_id"]);
    http.send(
        "enterprise_verify",
        Req::new(Method::POST, &path)
            .token(reviewer)
            .json(&json!({ "evidence_id": licence["id"] })),
    )
    .await?
    .expect("enterprise_verify", 200)?;
    let path = format!("/api/v1/reviews/{id}/claim");
    let claimed = http
        .send(
            "review_claim",
            Req::new(Method::POST, &path)
                .token(reviewer)
                .json(&json!({})),
        )
        .await?
        .expect("review_claim", 200)?
        .json();
    // Approval waits for a verdict on every red line and legal duty: accepted in one call.
    let verdicts: serde_json::Map<String, Value> = claimed["verdicts_required"]
        .as_array()
        .ok_or_else(|| format!("claim of {id} lists no verdicts_required: {claimed}"))?
        .iter()
        .filter_map(|c| c.as_str())
        .map(|c| (c.to_owned(), json!({ "verdict": "accept" })))
        .collect();
    let path = format!("/api/v1/reviews/{id}/verdicts");
    http.send(
        "review_verdicts",
        Req::new(Method::PUT, &path)
            .token(reviewer)
            .json(&json!({ "verdicts": verdicts })),
    )
    .await?
    .expect("review_verdicts", 200)?;
    let path = format!("/api/v1/reviews/{id}/approve");
    let approved = http
        .send(
            "review_approve",
            Req::new(Method::POST, &path)
                .token(reviewer)
                .json(&json!({ "comment": "符合要求" })),
        )
        .await?
        .expect("review_approve", 200)?
        .json();
    let number = approved["certificate"]["number"]
        .as_str()
        .ok_or_else(|| format!("approval of {id} issued no certificate: {approved}"))?;
    ack.borrow_mut().certificates.push((id, number.to_owned()));
    let path = format!("/api/v1/submissions/{id}/report.pdf");
    let pdf = http
        .send("report_pdf", Req::new(Method::GET, &path).token(token))
        .await?
        .expect("report_pdf", 200)?;
    if !pdf.body.starts_with(b"%PDF") {
        return Err("the report is not a PDF".into());
    }
    Ok(())
}
