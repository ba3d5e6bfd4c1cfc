//! The command line of the load tool.

use super::*;

pub(crate) struct Options {
    pub(crate) database: String,
    pub(crate) clients: usize,
    pub(crate) seconds: u64,
    pub(crate) workflows_single: usize,
    pub(crate) workflows_per_client: usize,
    pub(crate) crash_cycles: usize,
}

impl Options {
    pub(crate) fn parse() -> Res<Self> {
        let mut o = Options {
            database: "sqlite".into(),
            clients: 8,
            seconds: 10,
            workflows_single: 10,
            workflows_per_client: 15,
            crash_cycles: 0,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut value = || args.next().ok_or(format!("{a} needs a value"));
            match a.as_str() {
                "--database" => o.database = value()?,
                "--clients" => o.clients = value()?.parse()?,
                "--seconds" => o.seconds = value()?.parse()?,
                "--workflows" => o.workflows_per_client = value()?.parse()?,
                "--crash-cycles" => o.crash_cycles = value()?.parse()?,
                "--quick" => {
                    o.seconds = 2;
                    o.workflows_single = 2;
                    o.workflows_per_client = 2;
                }
                // cargo bench passes --bench; nothing else is expected.
                "--bench" => {}
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        Ok(o)
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements
