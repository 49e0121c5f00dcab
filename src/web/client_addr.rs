//! The client's address as recorded in the audit trail, login attempts and sessions: the
//! socket peer, unless the peer is a trusted proxy (`LIMS_TRUSTED_PROXIES`), in which case the
//! address that proxy forwarded. Forwarding headers from anyone else are ignored, so a client
//! cannot write a made-up address into the records.

use std::net::IpAddr;

use actix_web::http::header::{HeaderMap, HeaderName};
use ipnet::IpNet;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

pub fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// The client address of a request from `peer` with these headers.
///
/// Behind trusted proxies the hops are read right to left (each proxy appends the address it
/// saw) and the first hop not itself trusted is the client. `Forwarded: for=` (RFC 7239) is
/// preferred to `X-Forwarded-For` when both are present. A hop that is not an IP address
/// (`unknown`, an obfuscated name) ends the walk at the last address that was believed.
pub fn client_addr(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    // A dual-stack listener sees IPv4 clients as `::ffff:a.b.c.d`.
    let peer = peer?.to_canonical();
    if !is_trusted(peer, trusted) {
        return Some(peer);
    }
    let hops = forwarded_for(headers).or_else(|| x_forwarded_for(headers));
    let mut client = peer;
    for hop in hops.unwrap_or_default().iter().rev() {
        match parse_hop(hop) {
            Some(ip) => {
                client = ip;
                if !is_trusted(ip, trusted) {
                    break;
                }
            }
            None => break,
        }
    }
    Some(client)
}

/// Every `for=` value of every `Forwarded` header, in order.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<String>> {
    let mut hops = Vec::new();
    for value in headers.get_all(actix_web::http::header::FORWARDED) {
        let text = value.to_str().ok()?;
        for element in text.split(',') {
            for pair in element.split(';') {
                if let Some((name, value)) = pair.trim().split_once('=') {
                    if name.trim().eq_ignore_ascii_case("for") {
                        hops.push(value.trim().trim_matches('"').to_string());
                    }
                }
            }
        }
    }
    (!hops.is_empty()).then_some(hops)
}

fn x_forwarded_for(headers: &HeaderMap) -> Option<Vec<String>> {
    let mut hops = Vec::new();
    for value in headers.get_all(X_FORWARDED_FOR) {
        let text = value.to_str().ok()?;
        hops.extend(text.split(',').map(|h| h.trim().to_string()));
    }
    (!hops.is_empty()).then_some(hops)
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let ip: IpAddr = if let Ok(ip) = hop.parse() {
        ip
    } else if let Some(rest) = hop.strip_prefix('[') {
        rest.split(']').next()?.parse().ok()?
    } else {
        hop.rsplit_once(':')?.0.parse().ok()?
    };
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderValue, FORWARDED};

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        h
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let h = headers(&[
            (X_FORWARDED_FOR, "203.0.113.9"),
            (FORWARDED, "for=203.0.113.8"),
        ]);
        assert_eq!(client_addr(ip("198.51.100.7"), &h, &[]), ip("198.51.100.7"));
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_addr(ip("198.51.100.7"), &h, &trusted),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.1/32"]);
        // The client forged the first entry; the proxies appended what they saw.
        let h = headers(&[(X_FORWARDED_FOR, "1.2.3.4, 203.0.113.9, 192.168.1.1")]);
        assert_eq!(client_addr(ip("10.0.0.2"), &h, &trusted), ip("203.0.113.9"));
        // No header: the proxy itself.
        assert_eq!(
            client_addr(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
        // Every hop trusted: the leftmost.
        let inner = headers(&[(X_FORWARDED_FOR, "10.1.1.1, 10.2.2.2")]);
        assert_eq!(
            client_addr(ip("10.0.0.2"), &inner, &trusted),
            ip("10.1.1.1")
        );
        // Garbage ends the walk at the last believed address.
        let junk = headers(&[(X_FORWARDED_FOR, "203.0.113.9, unknown")]);
        assert_eq!(client_addr(ip("10.0.0.2"), &junk, &trusted), ip("10.0.0.2"));
    }

    #[test]
    fn forwarded_header_with_ports_and_ipv6() {
        let trusted = nets(&["10.0.0.0/8"]);
        let h = headers(&[
            (
                FORWARDED,
                "for=198.51.100.1;proto=https, for=\"[2001:db8::7]:4711\"",
            ),
            (X_FORWARDED_FOR, "203.0.113.9"),
        ]);
        assert_eq!(client_addr(ip("10.0.0.2"), &h, &trusted), ip("2001:db8::7"));
        let port = headers(&[(FORWARDED, "For=192.0.2.60:47011")]);
        assert_eq!(
            client_addr(ip("10.0.0.2"), &port, &trusted),
            ip("192.0.2.60")
        );
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_networks() {
        let trusted = nets(&["10.0.0.0/8"]);
        let h = headers(&[(X_FORWARDED_FOR, "203.0.113.9")]);
        assert_eq!(
            client_addr(ip("::ffff:10.0.0.2"), &h, &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_addr(ip("::ffff:198.51.100.1"), &h, &[]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn no_peer_no_address() {
        assert_eq!(client_addr(None, &HeaderMap::new(), &[]), None);
    }
}
