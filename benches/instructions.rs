//! A program to count instructions in, under valgrind's callgrind (`benches/instructions.sh`):
//!
//!   instructions save N     N answer saves through the whole service: HTTP on loopback with the
//!                           client in the same process, bearer token, If-Match, validation,
//!                           SQLite write (a fresh database in a temporary directory)
//!   instructions report N   N renders of the 59-criterion report (benches/common)
//!
//! The script runs each twice with different N and divides the difference, so that start-up
//! (schema loading, password hashing, the font's first parse) cancels out. Counts, unlike
//! wall-clock times, do not depend on what else the machine is doing.

use std::time::Duration;

use csr_assess::config::{Secret, Settings};
use csr_assess::reports::Lang;
use csr_assess::reports::report;
use csr_assess::startup::Application;
use csr_assess::state::AppState;
use serde_json::{Value, json};

#[path = "common/report_data.rs"]
mod report_data;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const PASSWORD: &str = "instruction count password";

fn main() -> Res<()> {
    // `cargo bench` adds `--bench`; the script passes the kind and the count.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let (kind, n) = match args.as_slice() {
        [kind, n] => (kind.as_str(), n.parse::<usize>()?),
        _ => ("report", 1),
    };
    match kind {
        "report" => {
            let data = report_data::report_data();
            let mut bytes = 0;
            for _ in 0..n {
                bytes += report::render(std::hint::black_box(&data), Lang::Zh).len();
            }
            println!("rendered {n} reports, {bytes} bytes");
            Ok(())
        }
        "save" => actix_rt::System::new().block_on(saves(n)),
        other => Err(format!("unknown kind {other}: use save or report").into()),
    }
}

async fn saves(n: usize) -> Res<()> {
    let dir = tempfile::tempdir()?;
    let mut settings = Settings::from_env()?;
    settings.bind = "127.0.0.1:0".into();
    settings.data_dir = dir.path().to_owned();
    settings.keys_dir = None;
    settings.workers = Some(1);
    // One pooled connection, opened when the pool is built: with more, the pool opens further
    // ones in the background when one is checked out, a varying number of times from run to run
    // (about 2.4 million instructions each), which showed as a few per cent of noise per save.
    settings.db_pool_size = 1;
    settings.database_url = Some(Secret::new(dir.path().join("i.db").display().to_string()));
    settings.admin_email = "admin@instructions.invalid".into();
    settings.admin_password = Some(Secret::new(PASSWORD));
    settings.complaint_sweep_secs = 0;
    settings.webhook_poll_ms = 0;
    let state = AppState::init(settings).await?;
    csr_assess::accounts::bootstrap_admin(&state).await?;
    let app = Application::build(state)?;
    let base = format!("http://127.0.0.1:{}", app.port);
    actix_rt::spawn(app.server);
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(600))
        .finish();
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut r = client.post(format!("{base}{path}"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move {
            let mut res = r.send_json(&body).await?;
            let status = res.status();
            let body: Value = res.json().limit(4 << 20).await?;
            if !status.is_success() {
                return Err(format!("{status}: {body}").into());
            }
            Res::Ok(body)
        }
    };
    let email = "boss@instructions.invalid";
    post(
        "/api/v1/enterprises",
        None,
        json!({
            "credit_code": csr_assess::demo::credit_code(10, 1),
            "name": "指令计数食品有限公司",
            "industry_code": "C1491",
            "region_code": "330106",
            "size": "small",
            "contact_email": "contact@instructions.invalid",
            "admin_email": email,
            "admin_password": PASSWORD,
        }),
    )
    .await?;
    let login = post(
        "/api/v1/auth/login",
        None,
        json!({ "email": email, "password": PASSWORD }),
    )
    .await?;
    let token = login["access_token"].as_str().ok_or("token")?.to_owned();
    let mut res = client
        .post(format!("{base}/api/v1/submissions"))
        .bearer_auth(&token)
        .send_json(&json!({ "schema_id": "cca-good-enterprise", "version": "2024" }))
        .await?;
    let mut etag = header(&res, "etag")?;
    let created: Value = res.json().await?;
    let id = created["id"].as_i64().ok_or("id")?;
    // A yes/no criterion, answered alternately yes and no so that every save changes it.
    let mut res = client
        .get(format!(
            "{base}/api/v1/schemas/cca-good-enterprise/versions/2024/resolved?industry=C1491"
        ))
        .bearer_auth(&token)
        .send()
        .await?;
    let schema: Value = res.json().limit(4 << 20).await?;
    let criterion = schema["criteria"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["kind"] == "yes_no"))
        .and_then(|c| c["id"].as_str())
        .ok_or("a yes/no criterion")?
        .to_owned();
    let path = format!("{base}/api/v1/submissions/{id}/answers/{criterion}");
    for i in 0..n {
        let mut res = client
            .put(&path)
            .bearer_auth(&token)
            .insert_header(("If-Match", etag.as_str()))
            .send_json(&json!({ "value": i % 2 == 0 }))
            .await?;
        if res.status() != 200 {
            let body = res.body().await?;
            return Err(format!("save {i}: {} {body:?}", res.status()).into());
        }
        etag = header(&res, "etag")?;
        res.body().await?;
    }
    println!("saved {n} answers");
    Ok(())
}

fn header<S>(res: &awc::ClientResponse<S>, name: &str) -> Res<String> {
    Ok(res
        .headers()
        .get(name)
        .ok_or_else(|| format!("no {name}"))?
        .to_str()?
        .to_owned())
}
