//! An HTTP client bound to one server, and a response with its body read.

use std::time::Duration;

use awc::http::Method;
use awc::http::header::HeaderMap;
use serde_json::Value;

/// One request: built with the methods below, sent with [`Client::try_send`].
pub struct Request<'a> {
    pub method: Method,
    pub path: &'a str,
    pub token: Option<&'a str>,
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: Option<(String, Vec<u8>)>,
}

impl<'a> Request<'a> {
    pub fn new(method: Method, path: &'a str) -> Self {
        Self {
            method,
            path,
            token: None,
            headers: Vec::new(),
            body: None,
        }
    }

    /// A bearer token.
    pub fn token(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }

    pub fn header(mut self, name: &'a str, value: &'a str) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn if_match(self, etag: &'a str) -> Self {
        self.header("if-match", etag)
    }

    pub fn body(mut self, content_type: impl Into<String>, bytes: Vec<u8>) -> Self {
        self.body = Some((content_type.into(), bytes));
        self
    }

    pub fn json(self, value: &Value) -> Self {
        self.body("application/json", value.to_string().into_bytes())
    }
}

/// An HTTP client bound to one server; it does not follow redirects.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    client: awc::Client,
}

impl Client {
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            client: awc::Client::builder()
                .timeout(Duration::from_secs(60))
                .disable_redirects()
                .finish(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends `r` and reads the whole body (up to 64 MiB); an error says what failed.
    pub async fn try_send(&self, r: Request<'_>) -> Result<Resp, String> {
        let mut req = self.client.request(r.method, self.url(r.path));
        if let Some(t) = r.token {
            req = req.bearer_auth(t);
        }
        for (k, v) in r.headers {
            req = req.insert_header((k, v));
        }
        let mut res = match r.body {
            Some((ct, bytes)) => req.content_type(ct).send_body(bytes).await,
            None => req.send().await,
        }
        .map_err(|e| format!("{}: {e}", r.path))?;
        let body = res
            .body()
            .limit(64 << 20)
            .await
            .map_err(|e| format!("{}: {e}", r.path))?;
        Ok(Resp {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: body.to_vec(),
        })
    }

    /// Polls `path` until it answers 2xx, for at most a minute.
    pub async fn wait_until_ok(&self, path: &str) -> Result<(), String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if let Ok(res) = self.try_send(Request::new(Method::GET, path)).await
                && (200..300).contains(&res.status)
            {
                return Ok(());
            }
            actix_rt::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "{}{path} did not answer 2xx within a minute",
            self.base
        ))
    }
}

/// A response with its body read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as JSON; panics, with the status and body, when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "status {}: body is not JSON: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}
