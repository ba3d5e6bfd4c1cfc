//! Where webhooks may go: `https` URLs of public hosts. A host the operator lists in
//! `CSR_WEBHOOK_ALLOWED_HOSTS` may also be reached over `http` and at a private or loopback
//! address (a receiver on the same network, or a test). Checked when an endpoint is registered
//! and again before each delivery, against the addresses the host resolves to then; the
//! delivery connects to exactly those addresses ([`Pinned`]), so a name that resolves to a
//! public address for the check and to a private one a moment later (DNS rebinding) reaches
//! nothing it should not.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// Checks a URL an endpoint is registered with.
pub fn check_url(url: &str, allowed: &[String]) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    let host = parsed.host_str().ok_or("needs a host")?;
    let listed = is_allowed(host, allowed);
    match parsed.scheme() {
        "https" => {}
        "http" if listed => {}
        _ => return Err("must be https".into()),
    }
    if url.len() > 2000 {
        return Err("is longer than 2000 characters".into());
    }
    if !listed {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>()
            && !is_public(ip)
        {
            return Err(format!("{ip} is not a public address"));
        }
        if host.eq_ignore_ascii_case("localhost") || host.ends_with(".localhost") {
            return Err("localhost is not a public host".into());
        }
    }
    Ok(())
}

/// Before a delivery: the addresses the host resolves to now, which must all be public unless
/// the host is listed. The delivery connects to these and no others.
pub fn check_resolved(url: &str, allowed: &[String]) -> Result<Pinned, String> {
    let parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
    let host = parsed.host_str().ok_or("no host")?;
    let port = parsed.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    if !is_allowed(host, allowed)
        && let Some(a) = addresses.iter().find(|a| !is_public(a.ip()))
    {
        return Err(format!(
            "{host} resolves to {}, not a public address",
            a.ip()
        ));
    }
    if addresses.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    Ok(Pinned(addresses))
}

/// A resolver that answers with the addresses checked before the delivery, whatever the name
/// resolves to by the time the connection is made.
#[derive(Debug, Clone)]
pub struct Pinned(Vec<SocketAddr>);

impl Resolver for Pinned {
    fn resolve(
        &self,
        _uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let mut out = self.empty();
        for a in self.0.iter().take(16) {
            out.push(*a);
        }
        if out.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(out)
    }
}

fn is_allowed(host: &str, allowed: &[String]) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    allowed.iter().any(|a| a.eq_ignore_ascii_case(bare))
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // Carrier-grade NAT and the benchmarking range.
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || a == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // Unique local (fc00::/7) and link-local (fe80::/10).
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_https_targets_unless_listed() {
        let none: Vec<String> = Vec::new();
        assert!(check_url("https://hooks.example.com/csr", &none).is_ok());
        for bad in [
            "http://hooks.example.com/csr",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://169.254.169.254/latest/meta-data",
            "https://[::ffff:127.0.0.1]/x",
            "https://localhost/x",
            "https://user:pw@hooks.example.com/x",
            "ftp://hooks.example.com/x",
            "not a url",
        ] {
            assert!(check_url(bad, &none).is_err(), "{bad}");
        }
        let listed = vec!["127.0.0.1".to_owned()];
        assert!(check_url("http://127.0.0.1:9000/hook", &listed).is_ok());
        assert!(check_resolved("http://127.0.0.1:9000/hook", &listed).is_ok());
        assert!(check_resolved("http://127.0.0.1:9000/hook", &none).is_err());
        assert!(check_resolved("http://localhost:9000/hook", &none).is_err());
    }

    /// The delivery connects where the check looked, not where the name points later: a name
    /// that does not resolve at all is reached at the pinned address.
    #[test]
    fn a_delivery_connects_to_the_checked_address() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap();
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(5)))
            .build();
        let connector = ureq::unversioned::transport::DefaultConnector::default();
        let agent = ureq::Agent::with_parts(config, connector, Pinned(vec![address]));
        let url = format!("http://rebinding.invalid:{}/hook", address.port());
        let response = agent.post(&url).send("{}").unwrap();
        assert_eq!(response.status().as_u16(), 204);
        let request = server.join().unwrap();
        assert!(
            request
                .to_ascii_lowercase()
                .contains("host: rebinding.invalid"),
            "{request}"
        );
    }
}
