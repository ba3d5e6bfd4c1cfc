//! Crash cycles: workflows killed with SIGKILL at pseudo-random times, then verified.

use super::*;

pub(crate) async fn crash_cycles(o: &Options, dir: &Path) -> Res<()> {
    let db = fresh_database(&o.database, dir, "crash")?;
    let data = dir.join("crash-data");
    let ack = RefCell::new(Acknowledged::default());
    let mut fixture: Option<(Fixture, String)> = None;
    let mut seed: u64 = 0x00C5_A55E;
    let mut killed_after = Vec::new();
    for cycle in 0..=o.crash_cycles {
        let server = start_server(service_command(&db, &data), "/readyz").await?;
        let http = Http::new(server.http.clone(), Recorder::default());
        if fixture.is_none() {
            let fx = setup(&http, o.clients).await?;
            fixture = Some((fx, login(&http, ADMIN_EMAIL).await?));
        }
        let (fx, admin) = fixture.as_ref().ok_or("no fixture")?;
        let entries = audit_verifies(&http, admin).await?;
        if cycle == o.crash_cycles {
            eprintln!("crash: after {cycle} kills the audit chain of {entries} entries verifies");
            break;
        }
        // A linear congruential generator: the same schedule on every run.
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let millis = 300 + (seed >> 33) % 2000;
        let load = join_all((0..o.clients).map(|c| {
            let (http, ack) = (&http, &ack);
            async move {
                loop {
                    workflow(http, fx, ack, c).await?;
                }
            }
        }));
        let timer = actix_rt::time::sleep(Duration::from_millis(millis));
        futures_util::pin_mut!(load, timer);
        if let futures_util::future::Either::Left((results, _)) =
            futures_util::future::select(load, timer).await
        {
            let errors: Vec<String> = results
                .into_iter()
                .filter_map(|r: Res<()>| r.err().map(|e| e.to_string()))
                .collect();
            return Err(format!("cycle {cycle}: workflows failed: {}", errors.join("; ")).into());
        }
        // SIGKILL while requests are in flight; the unfinished ones were never acknowledged.
        drop(server);
        integrity(&db)?;
        verify(&db, &ack.borrow())?;
        killed_after.push(millis);
    }
    let ack = ack.into_inner();
    println!(
        "crash safety ({}): {} SIGKILLs after {:?} ms; {}audit chain verifies, \
         all {} acknowledged answers and {} certificates present",
        if db.is_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        killed_after.len(),
        killed_after,
        if db.is_postgres() {
            ""
        } else {
            "integrity_check ok after each kill, "
        },
        ack.answers.len(),
        ack.certificates.len()
    );
    Ok(())
}
