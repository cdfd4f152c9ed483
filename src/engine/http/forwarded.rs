//! Trusted proxy headers: which peers may say who the client is (`forwarded_allow_ips`), and
//! what they say (`X-Forwarded-For`, `X-Forwarded-Proto`, RFC 7239 `Forwarded`).
//!
//! Pure Rust, no GIL: [`TrustedProxies::parse`] runs once when the engine is made, [`resolve`]
//! once per request from a trusted peer. Requests from anyone else never get here, so their
//! headers change nothing (they stay visible as `HTTP_X_FORWARDED_FOR` and the like).
//!
//! The client address is taken from the right of the list, where the proxies nearest to us
//! wrote: the rightmost address that is not itself a trusted proxy, or the leftmost when all
//! are. An entry that is no IP address (`unknown`, an obfuscated `_name`, garbage) ends the walk
//! where it stands: the address to its right is the answer, and when there is none REMOTE_ADDR
//! stays the peer's. REMOTE_ADDR only ever becomes an IP address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::fields::Fields;

/// An IP network: an address and how many leading bits of it must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`, as a dual-stack socket reports IPv4
/// peers) is the IPv4 address: it matches IPv4 entries and is given as such.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The peers whose proxy headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    everyone: bool,
    unix: bool,
    nets: Vec<Net>,
}

/// Why an entry of `forwarded_allow_ips` was refused.
fn refused(entry: &str) -> String {
    format!(
        "forwarded_allow_ips: {entry:?} is not an IP address, a network such as \"10.0.0.0/8\", \
         \"*\" or \"unix\""
    )
}

fn parse_net(entry: &str) -> Option<Net> {
    let (addr, prefix) = match entry.split_once('/') {
        Some((addr, bits)) => (addr, Some(bits)),
        None => (entry, None),
    };
    let addr = addr
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr);
    let addr: IpAddr = addr.parse().ok()?;
    let width = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => width,
        Some(bits) if !bits.is_empty() && bits.bytes().all(|b| b.is_ascii_digit()) => {
            bits.parse::<u8>().ok().filter(|&p| p <= width)?
        }
        Some(_) => return None,
    };
    // An IPv4-mapped network is the IPv4 network, as peers and header addresses are.
    if let IpAddr::V6(v6) = addr {
        if let (Some(v4), true) = (v6.to_ipv4_mapped(), prefix >= 96) {
            return Some(Net {
                addr: IpAddr::V4(v4),
                prefix: prefix - 96,
            });
        }
    }
    Some(Net { addr, prefix })
}

impl TrustedProxies {
    /// Parses `forwarded_allow_ips`: IPv4 or IPv6 addresses (IPv6 with or without brackets),
    /// CIDR networks, `*` (every peer) and `unix` (Unix-socket peers). Blank entries are
    /// skipped; anything else is an error that names the entry.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut trusted = TrustedProxies::default();
        for raw in entries {
            let entry = raw.trim();
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                trusted.everyone = true;
            } else if entry.eq_ignore_ascii_case("unix") {
                trusted.unix = true;
            } else {
                trusted
                    .nets
                    .push(parse_net(entry).ok_or_else(|| refused(raw))?);
            }
        }
        Ok(trusted)
    }

    /// True when nobody is trusted: proxy headers are never looked at.
    pub fn is_empty(&self) -> bool {
        !self.everyone && !self.unix && self.nets.is_empty()
    }

    fn trusts_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.everyone || self.nets.iter().any(|n| n.contains(ip))
    }

    /// Whether the connection's peer, at `ip` (None: a Unix-socket peer), may set the client
    /// address and scheme.
    pub fn trusts(&self, ip: Option<IpAddr>) -> bool {
        match ip {
            None => self.everyone || self.unix,
            Some(ip) => self.trusts_ip(ip),
        }
    }
}

/// The scheme a proxy says the client used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn parse(value: &[u8]) -> Option<Self> {
        let value = value.trim_ascii();
        if value.eq_ignore_ascii_case(b"https") {
            Some(Scheme::Https)
        } else if value.eq_ignore_ascii_case(b"http") {
            Some(Scheme::Http)
        } else {
            None
        }
    }
}

/// What trusted proxy headers say about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Forwarded {
    /// The client's address (REMOTE_ADDR).
    pub addr: Option<IpAddr>,
    /// The scheme the client used (wsgi.url_scheme).
    pub scheme: Option<Scheme>,
}

/// A node of a forwarding list as an IP address: `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]`,
/// `[::1]:80`, each possibly quoted; None for anything else.
fn node(raw: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(raw.trim_ascii()).ok()?;
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        return port_ok
            .then(|| inside.parse::<Ipv6Addr>().ok())
            .flatten()
            .map(|ip| canonical(IpAddr::V6(ip)));
    }
    let (host, port) = text.split_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The index of the client in a forwarding list (see the module docs), None when the rightmost
/// node is no address.
fn select(trusted: &TrustedProxies, nodes: &[Option<IpAddr>]) -> Option<usize> {
    let mut chosen = None;
    for (i, found) in nodes.iter().enumerate().rev() {
        let Some(ip) = found else { break };
        chosen = Some(i);
        if !trusted.trusts_ip(*ip) {
            break;
        }
    }
    chosen
}

/// Splits `value` at `sep` outside double-quoted strings (where `\` escapes one character).
fn split_outside_quotes(value: &[u8], sep: u8) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, &b) in value.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if quoted && b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            quoted = !quoted;
        } else if b == sep && !quoted {
            parts.push(&value[start..i]);
            start = i + 1;
        }
    }
    parts.push(&value[start..]);
    parts
}

/// A parameter value of `Forwarded`: a token, or a quoted string without its quotes and escapes.
fn unquote(value: &[u8]) -> Vec<u8> {
    let value = value.trim_ascii();
    let Some(inner) = value
        .strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
    else {
        return value.to_vec();
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut escaped = false;
    for &b in inner {
        if !escaped && b == b'\\' {
            escaped = true;
        } else {
            out.push(b);
            escaped = false;
        }
    }
    out
}

/// One element of a `Forwarded` header: one proxy's `for=` and `proto=`.
#[derive(Default)]
struct Element {
    node: Option<IpAddr>,
    proto: Option<Scheme>,
}

fn forwarded_elements<'a>(values: impl Iterator<Item = &'a [u8]>) -> Vec<Element> {
    let mut elements = Vec::new();
    for value in values {
        for element in split_outside_quotes(value, b',') {
            if element.trim_ascii().is_empty() {
                continue;
            }
            let mut parsed = Element::default();
            for pair in split_outside_quotes(element, b';') {
                let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                    continue;
                };
                let (name, value) = (pair[..eq].trim_ascii(), unquote(&pair[eq + 1..]));
                if name.eq_ignore_ascii_case(b"for") {
                    parsed.node = node(&value);
                } else if name.eq_ignore_ascii_case(b"proto") {
                    parsed.proto = Scheme::parse(&value);
                }
            }
            elements.push(parsed);
        }
    }
    elements
}

/// What the proxy headers of a request from a trusted peer say; call only for such requests.
/// `X-Forwarded-For` gives the address, and `Forwarded` only when there is no
/// `X-Forwarded-For`; `X-Forwarded-Proto` gives the scheme (its rightmost value, the nearest
/// proxy's), else `Forwarded` when it is used (the `proto=` of the client's element, else the
/// rightmost `proto=`).
pub fn resolve(trusted: &TrustedProxies, headers: &Fields) -> Forwarded {
    let named = |name: &'static [u8]| {
        headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let mut out = Forwarded {
        addr: None,
        scheme: named(b"x-forwarded-proto")
            .flat_map(|v| v.split(|&b| b == b','))
            .last()
            .and_then(Scheme::parse),
    };
    let xff: Vec<Option<IpAddr>> = named(b"x-forwarded-for")
        .flat_map(|v| v.split(|&b| b == b','))
        .map(node)
        .collect();
    if !xff.is_empty() {
        out.addr = select(trusted, &xff).and_then(|i| xff[i]);
        return out;
    }
    let elements = forwarded_elements(named(b"forwarded"));
    let nodes: Vec<Option<IpAddr>> = elements.iter().map(|e| e.node).collect();
    let chosen = select(trusted, &nodes);
    out.addr = chosen.and_then(|i| nodes[i]);
    if out.scheme.is_none() {
        out.scheme = chosen
            .and_then(|i| elements[i].proto)
            .or_else(|| elements.iter().rev().find_map(|e| e.proto));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(entries.iter().copied()).expect("valid entries")
    }

    fn peer(addr: &str) -> Option<IpAddr> {
        Some(
            addr.parse::<std::net::SocketAddr>()
                .expect("socket address")
                .ip(),
        )
    }

    #[test]
    fn parse_refuses_what_is_no_address() {
        for (entry, ok) in [
            ("127.0.0.1", true),
            ("::1", true),
            ("[::1]", true),
            ("10.0.0.0/8", true),
            ("10.0.0.1/8", true),
            ("fd00::/8", true),
            ("[fd00::]/8", true),
            ("0.0.0.0/0", true),
            ("*", true),
            ("unix", true),
            ("UNIX", true),
            (" 127.0.0.1 ", true),
            ("", true),
            ("localhost", false),
            ("10.0.0.0/33", false),
            ("::/129", false),
            ("10.0.0.0/", false),
            ("10.0.0.0/+8", false),
            ("10.0.0.0/8/8", false),
            ("1.2.3.4:80", false),
            ("256.0.0.1", false),
        ] {
            assert_eq!(TrustedProxies::parse([entry]).is_ok(), ok, "{entry:?}");
        }
        let err = TrustedProxies::parse(["127.0.0.1", "nope"]).unwrap_err();
        assert!(err.contains("\"nope\""), "{err}");
    }

    #[test]
    fn peers_trusted() {
        for (entries, who, want) in [
            (&[][..], peer("127.0.0.1:5"), false),
            (&[][..], None, false),
            (&["127.0.0.1"][..], peer("127.0.0.1:5"), true),
            (&["127.0.0.1"][..], peer("127.0.0.2:5"), false),
            (&["127.0.0.1"][..], peer("[::ffff:127.0.0.1]:5"), true),
            (&["::ffff:127.0.0.1"][..], peer("127.0.0.1:5"), true),
            (&["::1"][..], peer("[::1]:5"), true),
            (&["::1"][..], peer("127.0.0.1:5"), false),
            (&["10.0.0.0/8"][..], peer("10.200.3.4:5"), true),
            (&["10.0.0.0/8"][..], peer("11.0.0.1:5"), false),
            (&["fd00::/8"][..], peer("[fd12::1]:5"), true),
            (&["fd00::/8"][..], peer("[fe80::1]:5"), false),
            (&["0.0.0.0/0"][..], peer("8.8.8.8:5"), true),
            (&["0.0.0.0/0"][..], peer("[2001:db8::1]:5"), false),
            (&["*"][..], peer("8.8.8.8:5"), true),
            (&["*"][..], None, true),
            (&["unix"][..], None, true),
            (&["unix"][..], peer("127.0.0.1:5"), false),
            (&["127.0.0.1"][..], None, false),
        ] {
            assert_eq!(trusted(entries).trusts(who), want, "{entries:?} {who:?}");
        }
    }

    #[test]
    fn nodes() {
        for (raw, want) in [
            ("1.2.3.4", Some("1.2.3.4")),
            (" 1.2.3.4 ", Some("1.2.3.4")),
            ("1.2.3.4:8080", Some("1.2.3.4")),
            ("::1", Some("::1")),
            ("[::1]", Some("::1")),
            ("[2001:db8::1]:443", Some("2001:db8::1")),
            ("\"[2001:db8::1]:443\"", Some("2001:db8::1")),
            ("::ffff:10.1.2.3", Some("10.1.2.3")),
            ("[::1]x", None),
            ("[::1]:", None),
            ("1.2.3.4:", None),
            ("1.2.3.4:http", None),
            ("unknown", None),
            ("_hidden", None),
            ("", None),
            ("1.2.3", None),
        ] {
            let want = want.map(|w| w.parse::<IpAddr>().expect("address"));
            assert_eq!(node(raw.as_bytes()), want, "{raw:?}");
        }
    }

    fn headers(list: &[(&str, &str)]) -> Fields {
        let mut fields = Fields::default();
        for (n, v) in list {
            fields.push(n.as_bytes(), v.as_bytes());
        }
        fields
    }

    /// Trusted entries, request headers, the REMOTE_ADDR and scheme they give.
    type Case<'a> = (
        &'a [&'a str],
        &'a [(&'a str, &'a str)],
        Option<&'a str>,
        Option<Scheme>,
    );

    #[test]
    fn resolve_table() {
        use Scheme::{Http, Https};
        let proxies = &["127.0.0.1", "10.0.0.0/8", "::1"][..];
        let cases: &[Case] = &[
            (proxies, &[], None, None),
            (
                proxies,
                &[("X-Forwarded-For", "203.0.113.7")],
                Some("203.0.113.7"),
                None,
            ),
            // The rightmost untrusted address wins: what the client wrote itself is ignored.
            (
                proxies,
                &[("X-Forwarded-For", "6.6.6.6, 203.0.113.7")],
                Some("203.0.113.7"),
                None,
            ),
            (
                proxies,
                &[("X-Forwarded-For", "6.6.6.6, 203.0.113.7, 10.1.1.1")],
                Some("203.0.113.7"),
                None,
            ),
            // All trusted: the leftmost.
            (
                proxies,
                &[("X-Forwarded-For", "10.0.0.5, 10.1.1.1")],
                Some("10.0.0.5"),
                None,
            ),
            // Several header lines make one list, in order.
            (
                proxies,
                &[
                    ("X-Forwarded-For", "6.6.6.6"),
                    ("x-forwarded-for", "203.0.113.7"),
                ],
                Some("203.0.113.7"),
                None,
            ),
            (
                proxies,
                &[("X-Forwarded-For", "[2001:db8::7]:4711")],
                Some("2001:db8::7"),
                None,
            ),
            (
                proxies,
                &[("X-Forwarded-For", "2001:db8::7, ::1")],
                Some("2001:db8::7"),
                None,
            ),
            (
                proxies,
                &[("X-Forwarded-For", "::ffff:198.51.100.1")],
                Some("198.51.100.1"),
                None,
            ),
            // No address at the right: REMOTE_ADDR stays; garbage further left stops the walk.
            (
                proxies,
                &[("X-Forwarded-For", "203.0.113.7, unknown")],
                None,
                None,
            ),
            (
                proxies,
                &[("X-Forwarded-For", "garbage, 10.1.1.1")],
                Some("10.1.1.1"),
                None,
            ),
            (proxies, &[("X-Forwarded-For", "")], None, None),
            (
                &["*"],
                &[("X-Forwarded-For", "6.6.6.6, 203.0.113.7")],
                Some("6.6.6.6"),
                None,
            ),
            (
                proxies,
                &[("X-Forwarded-Proto", "https")],
                None,
                Some(Https),
            ),
            (proxies, &[("X-Forwarded-Proto", "HTTP")], None, Some(Http)),
            (proxies, &[("X-Forwarded-Proto", "ftp")], None, None),
            (
                proxies,
                &[("X-Forwarded-Proto", "http, https")],
                None,
                Some(Https),
            ),
            (
                proxies,
                &[
                    ("X-Forwarded-For", "203.0.113.7"),
                    ("X-Forwarded-Proto", "https"),
                ],
                Some("203.0.113.7"),
                Some(Https),
            ),
            // Forwarded: quotes, brackets and ports stripped.
            (
                proxies,
                &[("Forwarded", "for=203.0.113.7;proto=https")],
                Some("203.0.113.7"),
                Some(Https),
            ),
            (
                proxies,
                &[("Forwarded", "for=\"[2001:db8::7]:4711\";proto=http")],
                Some("2001:db8::7"),
                Some(Http),
            ),
            (
                proxies,
                &[(
                    "Forwarded",
                    "for=6.6.6.6;proto=http, for=\"203.0.113.7:1\";proto=https, for=10.2.2.2",
                )],
                Some("203.0.113.7"),
                Some(Https),
            ),
            (
                proxies,
                &[("Forwarded", "for=203.0.113.7;by=\"a;b,c\";proto=https")],
                Some("203.0.113.7"),
                Some(Https),
            ),
            (proxies, &[("Forwarded", "proto=https")], None, Some(Https)),
            (
                proxies,
                &[("Forwarded", "for=unknown;proto=https")],
                None,
                Some(Https),
            ),
            (
                proxies,
                &[("Forwarded", "for=_hidden, for=10.2.2.2")],
                Some("10.2.2.2"),
                None,
            ),
            (
                proxies,
                &[("Forwarded", "For=\"203.0.113.\\7\"")],
                Some("203.0.113.7"),
                None,
            ),
            // X-Forwarded-For first; X-Forwarded-Proto first.
            (
                proxies,
                &[
                    ("Forwarded", "for=198.51.100.9;proto=https"),
                    ("X-Forwarded-For", "203.0.113.7"),
                ],
                Some("203.0.113.7"),
                None,
            ),
            (
                proxies,
                &[
                    ("Forwarded", "for=198.51.100.9;proto=https"),
                    ("X-Forwarded-Proto", "http"),
                ],
                Some("198.51.100.9"),
                Some(Http),
            ),
            // Look-alike names are other headers.
            (
                proxies,
                &[
                    ("X-Forwarded-For-X", "203.0.113.7"),
                    ("X_Forwarded_For", "1.1.1.1"),
                ],
                None,
                None,
            ),
        ];
        for (entries, list, addr, scheme) in cases {
            let got = resolve(&trusted(entries), &headers(list));
            let want = Forwarded {
                addr: addr.map(|a| a.parse().expect("address")),
                scheme: *scheme,
            };
            assert_eq!(got, want, "{entries:?} {list:?}");
        }
    }

    #[test]
    fn nets_contain() {
        for (net, ip, want) in [
            ("10.0.0.0/8", "10.255.255.255", true),
            ("10.0.0.0/8", "9.255.255.255", false),
            ("192.168.1.0/24", "192.168.1.77", true),
            ("192.168.1.0/24", "192.168.2.1", false),
            ("1.2.3.4/32", "1.2.3.4", true),
            ("1.2.3.4/32", "1.2.3.5", false),
            ("2001:db8::/32", "2001:db8:ffff::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("::/0", "2001:db8::1", true),
            ("::ffff:10.0.0.0/104", "10.3.3.3", true),
        ] {
            let net = parse_net(net).expect("network");
            assert_eq!(
                net.contains(canonical(ip.parse().expect("ip"))),
                want,
                "{net:?} {ip}"
            );
        }
    }
}
