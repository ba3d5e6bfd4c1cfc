//! A small HTTP client over awc, with the bearer token and If-Match a request needs.

use super::*;

pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) etag: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Resp {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The response, or an error naming the operation when its status is not `want`.
    pub(crate) fn expect(self, op: &str, want: u16) -> Res<Self> {
        if self.status == want {
            Ok(self)
        } else {
            Err(format!(
                "{op}: status {} (wanted {want}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
            .into())
        }
    }
}

#[derive(Clone)]
pub(crate) struct Http {
    pub(crate) client: awc::Client,
    pub(crate) base: String,
    pub(crate) rec: Recorder,
}

pub(crate) struct Req<'a> {
    pub(crate) method: Method,
    pub(crate) path: &'a str,
    pub(crate) token: Option<&'a str>,
    pub(crate) if_match: Option<&'a str>,
    pub(crate) body: Option<(String, Vec<u8>)>,
}

impl<'a> Req<'a> {
    pub(crate) fn new(method: Method, path: &'a str) -> Self {
        Self {
            method,
            path,
            token: None,
            if_match: None,
            body: None,
        }
    }

    pub(crate) fn token(mut self, t: &'a str) -> Self {
        self.token = Some(t);
        self
    }

    pub(crate) fn if_match(mut self, e: &'a str) -> Self {
        self.if_match = Some(e);
        self
    }

    pub(crate) fn json(mut self, v: &Value) -> Self {
        self.body = Some(("application/json".into(), v.to_string().into_bytes()));
        self
    }
}

impl Http {
    pub(crate) fn new(base: String, rec: Recorder) -> Self {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(60))
            .finish();
        Self { client, base, rec }
    }

    pub(crate) async fn send(&self, op: &'static str, r: Req<'_>) -> Res<Resp> {
        let mut req = self
            .client
            .request(r.method, format!("{}{}", self.base, r.path));
        if let Some(t) = r.token {
            req = req.insert_header(("authorization", format!("Bearer {t}")));
        }
        if let Some(e) = r.if_match {
            req = req.insert_header(("if-match", e));
        }
        let started = Instant::now();
        let mut res = match r.body {
            Some((ct, body)) => req.insert_header(("content-type", ct)).send_body(body),
            None => req.send(),
        }
        .await
        .map_err(|e| format!("{op}: {e}"))?;
        let body = res
            .body()
            .limit(64 << 20)
            .await
            .map_err(|e| format!("{op}: {e}"))?;
        let status = res.status().as_u16();
        self.rec.record(op, status, started.elapsed());
        Ok(Resp {
            status,
            etag: res
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: body.to_vec(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Processes
