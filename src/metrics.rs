//! Prometheus metrics: request counts and latency histograms by route and status, pool usage.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request metrics keyed by (method, route pattern, status).
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
}

impl Metrics {
    /// Counts one request. Every label has a bounded set of values: the method is one of the
    /// standard ones or `OTHER`, the route a registered pattern or `unmatched`.
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        const KNOWN: [&str; 9] = [
            "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
        ];
        let method = KNOWN
            .iter()
            .find(|m| **m == method)
            .copied()
            .unwrap_or("OTHER");
        let secs = elapsed.as_secs_f64();
        let Ok(mut map) = self.series.lock() else {
            return;
        };
        let s = map
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default();
        s.count += 1;
        s.sum += secs;
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                s.buckets[i] += 1;
            }
        }
    }

    /// The Prometheus text exposition, with the pool's (open, idle, max) connections and the
    /// group commits' (groups, writes) since start.
    pub fn render(&self, pool: (u32, u32, u32), groups: (u64, u64)) -> String {
        let mut out = String::new();
        let map = match self.series.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        out.push_str("# HELP csr_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE csr_http_requests_total counter\n");
        for ((method, route, status), s) in map.iter() {
            let _ = writeln!(
                out,
                "csr_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                escape(route),
                s.count
            );
        }
        out.push_str("# HELP csr_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE csr_http_request_duration_seconds histogram\n");
        for ((method, route, status), s) in map.iter() {
            let labels = format!(
                "method=\"{method}\",route=\"{}\",status=\"{status}\"",
                escape(route)
            );
            for (le, n) in BUCKETS.iter().zip(s.buckets) {
                let _ = writeln!(
                    out,
                    "csr_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "csr_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "csr_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "csr_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        let (open, idle, max) = pool;
        out.push_str("# HELP csr_db_pool_connections Database pool connections by state.\n");
        out.push_str("# TYPE csr_db_pool_connections gauge\n");
        let _ = writeln!(
            out,
            "csr_db_pool_connections{{state=\"in_use\"}} {}",
            open.saturating_sub(idle)
        );
        let _ = writeln!(out, "csr_db_pool_connections{{state=\"idle\"}} {idle}");
        out.push_str("# HELP csr_db_pool_max_connections Size limit of the database pool.\n");
        out.push_str("# TYPE csr_db_pool_max_connections gauge\n");
        let _ = writeln!(out, "csr_db_pool_max_connections {max}");
        let (groups, writes) = groups;
        out.push_str(
            "# HELP csr_db_group_commits_total Groups of writes run together, failed ones included (SQLite: every write; PostgreSQL: answer saves, one run alone counting as a group of one).\n",
        );
        out.push_str("# TYPE csr_db_group_commits_total counter\n");
        let _ = writeln!(out, "csr_db_group_commits_total {groups}");
        out.push_str("# HELP csr_db_group_writes_total Writes those groups held.\n");
        out.push_str("# TYPE csr_db_group_writes_total counter\n");
        let _ = writeln!(out, "csr_db_group_writes_total {writes}");
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let m = Metrics::default();
        m.record("GET", "/a", 200, Duration::from_millis(3));
        m.record("GET", "/a", 200, Duration::from_millis(300));
        let text = m.render((2, 1, 8), (3, 7));
        assert!(
            text.contains("csr_http_requests_total{method=\"GET\",route=\"/a\",status=\"200\"} 2")
        );
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"0.5\"} 2"));
        assert!(text.contains("csr_db_pool_connections{state=\"in_use\"} 1"));
        assert!(text.contains("\ncsr_db_group_commits_total 3\n"));
        assert!(text.contains("\ncsr_db_group_writes_total 7\n"));
    }
}
