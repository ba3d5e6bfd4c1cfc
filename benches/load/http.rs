//! The kit's HTTP client with each response's latency recorded under its operation's name.

use super::*;

pub(crate) use crate::kit::http::{Request as Req, Resp};

impl Resp {
    /// The response, or an error naming the operation when its status is not `want`.
    pub(crate) fn expect(self, op: &str, want: u16) -> Res<Self> {
        if self.status == want {
            Ok(self)
        } else {
            Err(format!(
                "{op}: status {} (wanted {want}): {}",
                self.status,
                self.text()
            )
            .into())
        }
    }

    pub(crate) fn etag(&self) -> Res<String> {
        Ok(self.header("etag").ok_or("no etag")?)
    }
}

#[derive(Clone)]
pub(crate) struct Http {
    pub(crate) client: Client,
    pub(crate) rec: Recorder,
}

impl Http {
    pub(crate) fn new(client: Client, rec: Recorder) -> Self {
        Self { client, rec }
    }

    pub(crate) async fn send(&self, op: &'static str, r: Req<'_>) -> Res<Resp> {
        let started = Instant::now();
        let res = self
            .client
            .try_send(r)
            .await
            .map_err(|e| format!("{op}: {e}"))?;
        self.rec.record(op, res.status, started.elapsed());
        Ok(res)
    }
}
