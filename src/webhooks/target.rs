//! Where webhooks may go: `https` URLs of public hosts. A host the operator lists in
//! `CSR_WEBHOOK_ALLOWED_HOSTS` may also be reached over `http` and at a private or loopback
//! address (a receiver on the same network, or a test). Checked when an endpoint is registered
//! and again before each delivery, against the addresses the host resolves to then.

use std::net::{IpAddr, ToSocketAddrs};

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

/// Before a delivery: the host must still resolve to public addresses only, unless listed.
pub fn check_resolved(url: &str, allowed: &[String]) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
    let host = parsed.host_str().ok_or("no host")?;
    if is_allowed(host, allowed) {
        return Ok(());
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses = (bare, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    for a in addresses {
        if !is_public(a.ip()) {
            return Err(format!(
                "{host} resolves to {}, not a public address",
                a.ip()
            ));
        }
    }
    Ok(())
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
}
