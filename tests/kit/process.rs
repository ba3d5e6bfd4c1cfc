//! A server as a real process: started on a free port, found through the `listening on` line
//! it writes to stderr, killed on drop.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::http::Client;

/// How much of a process's log is kept: the newest lines up to this many bytes.
const LOG_BYTES: usize = 4 << 20;

pub struct Process {
    child: Child,
    pub http: Client,
    log: Arc<Mutex<Log>>,
}

#[derive(Default)]
struct Log {
    lines: VecDeque<String>,
    bytes: usize,
}

impl Process {
    /// The service binary under test (`serve` and the environment are the caller's).
    pub fn service_command() -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_csr-assess"));
        // Settings from the caller's environment must not leak into the process under test.
        for var in [
            "DATABASE_URL",
            "CSR_DATA_DIR",
            "CSR_ADMIN_PASSWORD",
            "CSR_KEYS_DIR",
            "CSR_JWT_KEYS",
            "CSR_EVIDENCE_DIR",
            "CSR_EVIDENCE_STORE",
            "CSR_LOG_FORMAT",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Starts `cmd` bound to a free loopback port (`CSR_BIND`) and waits, at most a minute, for
    /// the `listening on http://…` line on its stderr.
    pub fn start(mut cmd: Command) -> Result<Self, String> {
        let mut child = cmd
            .env("CSR_BIND", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("start {cmd:?}: {e}"))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let log = Arc::new(Mutex::new(Log::default()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let url = line.find("listening on http://").map(|at| {
                    line[at + "listening on ".len()..]
                        .split([';', ' ', '"'])
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                });
                // The line is in the log before the start is reported.
                {
                    let Ok(mut log) = sink.lock() else { return };
                    log.bytes += line.len() + 1;
                    log.lines.push_back(line);
                    while log.bytes > LOG_BYTES
                        && let Some(old) = log.lines.pop_front()
                    {
                        log.bytes -= old.len() + 1;
                    }
                }
                if let Some(url) = url {
                    let _ = tx.send(url);
                }
            }
        });
        let mut process = Self {
            child,
            http: Client::new(String::new()),
            log,
        };
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => {
                process.http = Client::new(base);
                Ok(process)
            }
            Err(_) => Err(format!("the server did not start: {}", process.log())),
        }
    }

    /// `host:port` it listens on.
    pub fn address(&self) -> String {
        self.http.base.trim_start_matches("http://").to_owned()
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`TERM`, `KILL`, …).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {signal} failed");
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running after {limit:?}: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The newest part of its stderr.
    pub fn log(&self) -> String {
        let log = self.log.lock().map(|l| l.lines.clone()).unwrap_or_default();
        log.into_iter().fold(String::new(), |mut s, line| {
            s.push_str(&line);
            s.push('\n');
            s
        })
    }

    /// Peak resident set size (VmHWM) in MiB, while it runs.
    pub fn peak_rss_mib(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
