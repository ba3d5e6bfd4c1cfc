//! The service phase: answer saves at saturation, then whole workflows at 1 and 8 clients.

use super::*;

pub(crate) struct ServiceFigures {
    pub(crate) answer_save: Vec<Row>,
    pub(crate) answer_save_wall: Duration,
    pub(crate) workflows: Vec<(usize, usize, Duration, Vec<Row>)>,
    pub(crate) peak_rss_mib: f64,
    pub(crate) bytes_per_workflow: f64,
    pub(crate) checked_answers: usize,
    pub(crate) checked_certificates: usize,
    /// Group commits and the writes they held during the saves at saturation.
    pub(crate) save_groups: (u64, u64),
}

/// The token `GET /metrics` asks of the benchmark's server.
const METRICS_TOKEN: &str = "load-bench-metrics";

/// The service's command line on `db`, its data under `data`.
pub(crate) fn service_command(db: &FreshDatabase, data: &Path) -> Command {
    let mut cmd = Process::service_command();
    cmd.arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("CSR_DATA_DIR", data)
        .env("CSR_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("CSR_ADMIN_PASSWORD", PASSWORD)
        // Every client registers from this one address.
        .env("CSR_REGISTRATIONS_PER_ADDRESS", "100000")
        .env("CSR_METRICS_TOKEN", METRICS_TOKEN);
    cmd
}

pub(crate) async fn service(o: &Options, dir: &Path) -> Res<ServiceFigures> {
    let db = fresh_database(&o.database, dir, "service")?;
    let cmd = service_command(&db, &dir.join("service-data"));
    let server = start_server(cmd, "/readyz").await?;
    let rec = Recorder::default();
    let http = Http::new(server.http.clone(), rec.clone());
    let fx = setup(&http, o.clients).await?;
    let ack = RefCell::new(Acknowledged::default());

    // Answer saves at saturation: each client autosaves its own draft, criterion after
    // criterion, changing the value each round.
    rec.take();
    let drafts = RefCell::new(Vec::new());
    for c in 0..o.clients {
        let (id, etag) = create_submission(&http, &fx.enterprises[c].token).await?;
        drafts.borrow_mut().push((id, etag, 0usize));
    }
    let groups_before = group_counts(&http).await?;
    rec.take();
    let answer_save_wall = saturate(o.clients, o.seconds, |c| {
        let (http, fx, ack, drafts) = (&http, &fx, &ack, &drafts);
        async move {
            let (id, mut etag, n) = drafts.borrow()[c].clone();
            let criterion = &fx.criteria[n % fx.criteria.len()];
            let answer = answer_for(criterion, n / fx.criteria.len() + 1);
            let token = &fx.enterprises[c].token;
            save_answer(http, ack, token, id, &mut etag, criterion, answer).await?;
            drafts.borrow_mut()[c] = (id, etag, n + 1);
            Ok(())
        }
    })
    .await?;
    let answer_save = rows(rec.take(), answer_save_wall);
    let groups_after = group_counts(&http).await?;
    let save_groups = (
        groups_after.0 - groups_before.0,
        groups_after.1 - groups_before.1,
    );
    rec.take();

    // Whole workflows, at one client and at all of them.
    let size_before = database_size(&db)?;
    let mut workflows = Vec::new();
    let mut total = 0;
    for (clients, per_client) in [(1, o.workflows_single), (o.clients, o.workflows_per_client)] {
        let started = Instant::now();
        let results = join_all((0..clients).map(|c| {
            let (http, fx, ack) = (&http, &fx, &ack);
            async move {
                for _ in 0..per_client {
                    workflow(http, fx, ack, c).await?;
                }
                Res::Ok(())
            }
        }))
        .await;
        for r in results {
            r?;
        }
        let wall = started.elapsed();
        total += clients * per_client;
        workflows.push((clients, clients * per_client, wall, rows(rec.take(), wall)));
    }
    let bytes_per_workflow = (database_size(&db)? - size_before) as f64 / total as f64;
    let peak_rss_mib = server.peak_rss_mib();

    // Kill the server without warning, then look up every acknowledged write.
    drop(server);
    let ack = ack.into_inner();
    verify(&db, &ack)?;
    Ok(ServiceFigures {
        answer_save,
        answer_save_wall,
        workflows,
        peak_rss_mib,
        bytes_per_workflow,
        checked_answers: ack.answers.len(),
        checked_certificates: ack.certificates.len(),
        save_groups,
    })
}

/// The server's `csr_db_group_commits_total` and `csr_db_group_writes_total`.
async fn group_counts(http: &Http) -> Res<(u64, u64)> {
    let text = http
        .send(
            "metrics",
            Req::new(Method::GET, "/metrics").token(METRICS_TOKEN),
        )
        .await?
        .expect("metrics", 200)?
        .text();
    let value = |name: &str| -> Res<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .ok_or_else(|| format!("metrics: no {name}"))?
            .trim()
            .parse::<u64>()
            .map_err(|e| format!("metrics: {name}: {e}").into())
    };
    Ok((
        value("csr_db_group_commits_total")?,
        value("csr_db_group_writes_total")?,
    ))
}
