//! A bounded load benchmark of the whole enterprise workflow against the real release server,
//! over HTTP on loopback, beside two ceilings measured in the same run on the same machine.
//!
//! ```text
//! cargo bench --bench load                                              # SQLite
//! cargo bench --bench load -- --database postgres://postgres@127.0.0.1:5432/postgres
//! cargo bench --bench load -- --quick                                   # a short smoke run
//! ```
//!
//! Phases, each with its own server process:
//! 1. ceiling `hello`: a trivial actix-web endpoint;
//! 2. ceiling `insert`: one bare insert per request through the service's own pool and
//!    transaction code (SQLite: WAL, `synchronous=FULL`, `BEGIN IMMEDIATE`);
//! 3. the service: answer saves at saturation (8 clients, each autosaving its own draft), then
//!    whole workflows at 1 and at 8 clients — create a submission on the 2024 schema, answer
//!    every criterion one request at a time, save them all again in one bulk request, attach one
//!    evidence file, submit, read the score, claim and approve as a reviewer, download the report.
//!
//! Afterwards the server is killed with SIGKILL and every acknowledged write (each answer's last
//! acknowledged value, each approval and certificate) is looked up in the database. Any 5xx,
//! any lost write or any unexpected status makes the run fail.
//!
//! The tool binds to 127.0.0.1 only and every phase is bounded by time or by count.
//!
//! `--crash-cycles N` checks crash safety instead of measuring: N times, the service starts on
//! the same database, every client runs workflows, and after a pseudo-random 0.3–2.3 s (fixed
//! seed) the server is killed with SIGKILL in the middle of its writes. After each kill the
//! database must pass `PRAGMA integrity_check` (SQLite) and hold every acknowledged write, and
//! after each restart the audit chain must verify.

#[path = "../../tests/kit/mod.rs"]
mod kit;

mod args;
mod crash;
mod figures;
mod http;
mod server;
mod service;
mod verify;
mod workflow;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};

use awc::http::Method;
use diesel::prelude::*;
use futures_util::future::join_all;
use serde_json::{Value, json};

use kit::database::FreshDatabase;
use kit::http::Client;
use kit::process::Process;

use args::*;
use crash::*;
use figures::*;
use http::*;
use server::*;
use service::*;
use verify::*;
use workflow::*;

const PASSWORD: &str = "Load-bench-passw0rd";
const ADMIN_EMAIL: &str = "admin@load.invalid";
const INDUSTRY: &str = "C1491";
/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

type Fail = Box<dyn std::error::Error>;
type Res<T> = Result<T, Fail>;

fn rps_of(rows: &[Row], op: &str) -> f64 {
    rows.iter().find(|r| r.op == op).map_or(0.0, |r| r.rps)
}

async fn run(o: Options) -> Res<()> {
    let dir = tempfile::tempdir()?;
    if o.crash_cycles > 0 {
        return crash_cycles(&o, dir.path()).await;
    }
    let backend = if o.database == "sqlite" {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    eprintln!(
        "load: {backend}, {} clients, {} s per saturation phase",
        o.clients, o.seconds
    );
    let hello = ceiling(&o, dir.path(), "hello").await?;
    let insert = ceiling(&o, dir.path(), "insert").await?;
    let s = service(&o, dir.path()).await?;

    println!("### {backend} — {} clients\n", o.clients);
    print_table("Ceiling: trivial actix-web endpoint", &hello);
    print_table("Ceiling: one bare insert per request", &insert);
    print_table(
        &format!(
            "Answer save at saturation ({:.1} s)",
            s.answer_save_wall.as_secs_f64()
        ),
        &s.answer_save,
    );
    let save = rps_of(&s.answer_save, "answer_save");
    let hello_rps = rps_of(&hello, "hello");
    let insert_rps = rps_of(&insert, "insert");
    for (clients, n, wall, rows) in &s.workflows {
        print_table(
            &format!(
                "Workflows at {clients} client(s): {n} in {:.1} s = {:.0} per minute",
                wall.as_secs_f64(),
                *n as f64 / wall.as_secs_f64() * 60.0
            ),
            rows,
        );
    }
    println!("\n#### Summary\n");
    println!("| figure | value |\n|---|---:|");
    println!("| answer save req/s | {save:.0} |");
    println!(
        "| … as a fraction of the bare-insert ceiling ({insert_rps:.0} req/s) | {:.2} |",
        save / insert_rps.max(1.0)
    );
    println!(
        "| … as a fraction of the trivial-endpoint ceiling ({hello_rps:.0} req/s) | {:.3} |",
        save / hello_rps.max(1.0)
    );
    let (groups, writes) = s.save_groups;
    println!(
        "| … group commits during the saves, and writes per commit | {groups}, {:.1} |",
        writes as f64 / groups.max(1) as f64
    );
    for (clients, n, wall, _) in &s.workflows {
        println!(
            "| workflows per minute at {clients} client(s) | {:.0} |",
            *n as f64 / wall.as_secs_f64() * 60.0
        );
    }
    println!("| server peak RSS | {:.1} MiB |", s.peak_rss_mib);
    println!(
        "| database growth per workflow | {:.1} KiB |",
        s.bytes_per_workflow / 1024.0
    );
    println!(
        "| acknowledged writes checked after SIGKILL | {} answers, {} certificates, none missing |",
        s.checked_answers, s.checked_certificates
    );
    let server_errors: u64 = [&hello, &insert, &s.answer_save]
        .into_iter()
        .chain(s.workflows.iter().map(|w| &w.3))
        .flatten()
        .map(Row::server_errors)
        .sum();
    println!("| server errors (5xx) | {server_errors} |");

    // The targets of the performance issues, each met or missed in this run.
    let in_workflows = s
        .workflows
        .iter()
        .find(|w| w.0 == o.clients)
        .and_then(|w| w.3.iter().find(|r| r.op == "answer_save"));
    let (save_p50, save_p99) = in_workflows.map_or((f64::NAN, f64::NAN), |r| (r.p50, r.p99));
    let per_minute = s
        .workflows
        .iter()
        .find(|w| w.0 == o.clients)
        .map_or(0.0, |w| w.1 as f64 / w.2.as_secs_f64() * 60.0);
    let ratio = save / insert_rps.max(1.0);
    println!("\n#### Targets ({} clients)\n", o.clients);
    println!("| target | measured | |\n|---|---:|---|");
    let verdict = |met: bool| if met { "met" } else { "**missed**" };
    for (target, measured, met) in [
        (
            "answer save p50 < 2 ms (within workflows)".to_owned(),
            format!("{save_p50:.2} ms"),
            save_p50 < 2.0,
        ),
        (
            "answer save p99 < 10 ms (within workflows)".to_owned(),
            format!("{save_p99:.2} ms"),
            save_p99 < 10.0,
        ),
        (
            format!("answer save ≥ 0.5 of the bare-insert ceiling ({insert_rps:.0} req/s)"),
            format!("{ratio:.2} ({save:.0} req/s)"),
            ratio >= 0.5,
        ),
        (
            "workflows per minute ≥ 500".to_owned(),
            format!("{per_minute:.0}"),
            per_minute >= 500.0,
        ),
        (
            "server peak RSS < 100 MiB".to_owned(),
            format!("{:.1} MiB", s.peak_rss_mib),
            s.peak_rss_mib < 100.0,
        ),
        (
            "no server error, no acknowledged write lost".to_owned(),
            format!("{server_errors} errors"),
            server_errors == 0,
        ),
    ] {
        println!("| {target} | {measured} | {} |", verdict(met));
    }
    if server_errors > 0 {
        return Err(format!("{server_errors} server errors").into());
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve-ceiling") {
        let kind = args.get(i + 1).map_or("hello", String::as_str);
        let database = args
            .iter()
            .position(|a| a == "--database")
            .and_then(|j| args.get(j + 1))
            .map_or("", String::as_str);
        let bind = std::env::var("CSR_BIND").unwrap_or_else(|_| "127.0.0.1:0".into());
        if let Err(e) = serve_ceiling(kind, &bind, database) {
            eprintln!("ceiling server: {e}");
            std::process::exit(1);
        }
        return;
    }
    let result = Options::parse().and_then(|o| actix_rt::System::new().block_on(run(o)));
    if let Err(e) = result {
        eprintln!("load benchmark failed: {e}");
        std::process::exit(1);
    }
}
