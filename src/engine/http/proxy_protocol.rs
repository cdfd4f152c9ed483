//! The PROXY protocol header (HAProxy's "proxy-protocol.txt", versions 1 and 2) that a proxy in
//! TCP mode (HAProxy's `send-proxy`, an AWS NLB, a Kubernetes ingress) sends before anything
//! else, to say whom it carries the connection for.
//!
//! Pure, no GIL, no I/O: [`parse`] looks at a connection's first bytes and says whether they hold
//! a whole header (and how long it is, and the source address it gives), need more bytes, or
//! are no valid header. It is not HTTP, but it is read where a request head is, by the same
//! loop, and is as small.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The first bytes of a version 2 header.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The first bytes of a version 1 header.
const V1_PREFIX: &[u8] = b"PROXY ";

/// The longest version 1 header, its CRLF included (the specification's bound).
pub const V1_MAX: usize = 107;

/// The fixed part of a version 2 header: the signature, the version and command, the family and
/// protocol, the length of what follows.
const V2_FIXED: usize = 16;

/// A whole header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// How many bytes it takes: the request comes after them.
    pub len: usize,
    /// The client's address and port; None where the connection's own peer stands (a v1
    /// `UNKNOWN`, a v2 `LOCAL` command such as a health check, a v2 family other than TCP over
    /// IPv4 or IPv6).
    pub source: Option<SocketAddr>,
}

/// Why bytes are no PROXY protocol header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// They start with neither signature (plain HTTP, most likely).
    Missing,
    /// A version 1 line longer than 107 bytes.
    V1TooLong,
    /// A version 1 line that is not `PROXY TCP4|TCP6 src dst sport dport` nor `PROXY UNKNOWN`.
    V1Malformed,
    /// A version 2 header of another version than 2.
    V2Version,
    /// A version 2 command other than LOCAL (0) and PROXY (1).
    V2Command,
    /// A version 2 family or transport protocol that is none the specification defines, or a
    /// datagram one.
    V2Family,
    /// A version 2 address block shorter than its family's addresses.
    V2Short,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Missing => "no PROXY protocol header",
            Error::V1TooLong => "a PROXY protocol v1 header longer than 107 bytes",
            Error::V1Malformed => "a malformed PROXY protocol v1 header",
            Error::V2Version => "a PROXY protocol v2 header of an unknown version",
            Error::V2Command => "a PROXY protocol v2 header with an unknown command",
            Error::V2Family => "a PROXY protocol v2 header with an unsupported address family",
            Error::V2Short => "a PROXY protocol v2 header too short for its addresses",
        })
    }
}

impl std::error::Error for Error {}

/// Whether `buf` could still become `prefix` (it is a prefix of it, or starts with it).
fn starts(buf: &[u8], prefix: &[u8]) -> bool {
    let n = buf.len().min(prefix.len());
    buf.get(..n) == prefix.get(..n)
}

/// The header at the start of `buf`: `Ok(None)` while more bytes are needed.
pub fn parse(buf: &[u8]) -> Result<Option<Header>, Error> {
    if starts(buf, &V2_SIGNATURE) {
        parse_v2(buf)
    } else if starts(buf, V1_PREFIX) {
        parse_v1(buf)
    } else {
        Err(Error::Missing)
    }
}

fn parse_v1(buf: &[u8]) -> Result<Option<Header>, Error> {
    let window = buf.get(..buf.len().min(V1_MAX)).unwrap_or_default();
    let Some(end) = window.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX {
            Err(Error::V1TooLong)
        } else {
            Ok(None)
        };
    };
    let line = window.get(V1_PREFIX.len()..end).unwrap_or_default();
    let len = end + 2;
    let mut words = line.split(|&b| b == b' ');
    let family = words.next().unwrap_or_default();
    if family == b"UNKNOWN" {
        // Whatever follows is to be ignored.
        return Ok(Some(Header { len, source: None }));
    }
    let v6 = match family {
        b"TCP4" => false,
        b"TCP6" => true,
        _ => return Err(Error::V1Malformed),
    };
    let mut next = || words.next().ok_or(Error::V1Malformed);
    // The destination is checked, not kept: the server knows its own address.
    let (src, _dst) = (address(next()?, v6)?, address(next()?, v6)?);
    let (sport, _dport) = (port(next()?)?, port(next()?)?);
    if words.next().is_some() {
        return Err(Error::V1Malformed);
    }
    Ok(Some(Header {
        len,
        source: Some(SocketAddr::new(src, sport)),
    }))
}

/// An address of a v1 line, of the family the line named.
fn address(word: &[u8], v6: bool) -> Result<IpAddr, Error> {
    let text = std::str::from_utf8(word).map_err(|_| Error::V1Malformed)?;
    let ip = if v6 {
        IpAddr::V6(text.parse::<Ipv6Addr>().map_err(|_| Error::V1Malformed)?)
    } else {
        IpAddr::V4(text.parse::<Ipv4Addr>().map_err(|_| Error::V1Malformed)?)
    };
    Ok(ip)
}

/// A port of a v1 line: 1 to 5 digits, at most 65535, no leading zero.
fn port(word: &[u8]) -> Result<u16, Error> {
    let plain = !word.is_empty()
        && word.len() <= 5
        && word.iter().all(u8::is_ascii_digit)
        && (word.len() == 1 || word.first() != Some(&b'0'));
    if !plain {
        return Err(Error::V1Malformed);
    }
    let n = word.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
    u16::try_from(n).map_err(|_| Error::V1Malformed)
}

fn parse_v2(buf: &[u8]) -> Result<Option<Header>, Error> {
    let (Some(&version_command), Some(&family_protocol), Some(&[hi, lo])) = (
        buf.get(12),
        buf.get(13),
        buf.get(14..16).and_then(|s| <&[u8; 2]>::try_from(s).ok()),
    ) else {
        // What is there is checked as it arrives: garbage is refused at once.
        if let Some(&vc) = buf.get(12) {
            check_version_command(vc)?;
        }
        if let Some(&fp) = buf.get(13) {
            check_family(fp)?;
        }
        return Ok(None);
    };
    let local = check_version_command(version_command)?;
    check_family(family_protocol)?;
    let block_len = usize::from(u16::from_be_bytes([hi, lo]));
    let len = V2_FIXED + block_len;
    let Some(block) = buf.get(V2_FIXED..len) else {
        return Ok(None);
    };
    if local {
        // A connection of the proxy's own (a health check): its peer stands.
        return Ok(Some(Header { len, source: None }));
    }
    let source = match family_protocol >> 4 {
        // AF_INET: source and destination addresses, then ports (TLVs may follow).
        0x1 => {
            let a = block.get(..12).ok_or(Error::V2Short)?;
            let ip = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
            Some(SocketAddr::new(ip.into(), u16::from_be_bytes([a[8], a[9]])))
        }
        // AF_INET6.
        0x2 => {
            let a = block.get(..36).ok_or(Error::V2Short)?;
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&a[..16]);
            let ip = Ipv6Addr::from(octets);
            Some(SocketAddr::new(
                ip.into(),
                u16::from_be_bytes([a[32], a[33]]),
            ))
        }
        // AF_UNSPEC, AF_UNIX: no address to take; the peer stands.
        _ => None,
    };
    Ok(Some(Header { len, source }))
}

/// Version 2 and a known command; whether it is LOCAL.
fn check_version_command(byte: u8) -> Result<bool, Error> {
    if byte >> 4 != 0x2 {
        return Err(Error::V2Version);
    }
    match byte & 0x0f {
        0x0 => Ok(true),
        0x1 => Ok(false),
        _ => Err(Error::V2Command),
    }
}

/// A family and protocol the specification defines; an IP family must be a stream's.
fn check_family(byte: u8) -> Result<(), Error> {
    let (family, protocol) = (byte >> 4, byte & 0x0f);
    match (family, protocol) {
        (0x0..=0x3, 0x0..=0x2) if !(matches!(family, 0x1 | 0x2) && protocol != 0x1) => Ok(()),
        _ => Err(Error::V2Family),
    }
}

#[cfg(test)]
mod tests {
    use super::super::rng::Rng;
    use super::*;

    /// `bytes` is one whole header naming `source`, and what follows it is left untouched.
    fn parses_to(bytes: &[u8], source: Option<SocketAddr>) {
        let header = parse(bytes).unwrap().unwrap();
        assert_eq!(
            header,
            Header {
                len: bytes.len(),
                source
            },
            "{bytes:?}"
        );
        let mut more = bytes.to_vec();
        more.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(parse(&more), Ok(Some(header)));
    }

    fn addr(text: &str) -> Option<SocketAddr> {
        Some(text.parse().unwrap())
    }

    /// A v2 header: the command and family bytes, then the address block.
    fn v2(command: u8, family: u8, block: &[u8]) -> Vec<u8> {
        let mut out = V2_SIGNATURE.to_vec();
        out.push(command);
        out.push(family);
        out.extend_from_slice(&(block.len() as u16).to_be_bytes());
        out.extend_from_slice(block);
        out
    }

    fn v2_inet(extra: &[u8]) -> Vec<u8> {
        let mut block = vec![192, 0, 2, 7, 10, 0, 0, 1, 0xd4, 0x31, 0x00, 0x50];
        block.extend_from_slice(extra);
        v2(0x21, 0x11, &block)
    }

    fn v2_inet6() -> Vec<u8> {
        let mut block = Vec::new();
        block.extend_from_slice(&"2001:db8::7".parse::<Ipv6Addr>().unwrap().octets());
        block.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        block.extend_from_slice(&[0x01, 0xbb, 0x00, 0x50]);
        v2(0x21, 0x21, &block)
    }

    #[test]
    fn valid_v1_headers() {
        for (bytes, source) in [
            (
                &b"PROXY TCP4 192.0.2.7 10.0.0.1 54321 80\r\n"[..],
                addr("192.0.2.7:54321"),
            ),
            (
                b"PROXY TCP6 2001:db8::7 2001:db8::1 443 8080\r\n",
                addr("[2001:db8::7]:443"),
            ),
            (b"PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n", addr("0.0.0.0:0")),
            (
                b"PROXY TCP4 255.255.255.255 1.1.1.1 65535 65535\r\n",
                addr("255.255.255.255:65535"),
            ),
            (b"PROXY UNKNOWN\r\n", None),
            (
                b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
                None,
            ),
        ] {
            parses_to(bytes, source);
        }
    }

    #[test]
    fn a_v1_header_is_at_most_107_bytes() {
        let longest = b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff \
                        ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        // The longest address line is 104 bytes; an UNKNOWN line may be 107.
        assert_eq!(parse(longest).unwrap().unwrap().len, 104);
        let mut unknown = b"PROXY UNKNOWN ".to_vec();
        unknown.resize(V1_MAX - 2, b'x');
        unknown.extend_from_slice(b"\r\n");
        assert_eq!(parse(&unknown).unwrap().unwrap().len, V1_MAX);
        unknown.insert(20, b'x');
        assert_eq!(parse(&unknown), Err(Error::V1TooLong));
        assert_eq!(parse(&[b'P'; 1][..]), Ok(None));
        let endless = [&b"PROXY UNKNOWN "[..], &[b'x'; 200]].concat();
        assert_eq!(parse(&endless), Err(Error::V1TooLong));
    }

    #[test]
    fn malformed_v1_headers() {
        for bytes in [
            &b"PROXY TCP5 192.0.2.7 10.0.0.1 1 2\r\n"[..],
            b"PROXY tcp4 192.0.2.7 10.0.0.1 1 2\r\n",
            b"PROXY  TCP4 192.0.2.7 10.0.0.1 1 2\r\n",
            b"PROXY TCP4  192.0.2.7 10.0.0.1 1 2\r\n",
            b"PROXY TCP4 192.0.2.7 10.0.0.1 1 2 \r\n",
            b"PROXY TCP4 192.0.2.7 10.0.0.1 1\r\n",
            b"PROXY TCP4 192.0.2.7 10.0.0.1 1 2 3\r\n",
            b"PROXY TCP4 192.0.2.7 10.0.0.1\r\n",
            b"PROXY TCP4\r\n",
            b"PROXY \r\n",
            b"PROXY TCP4 2001:db8::7 10.0.0.1 1 2\r\n",
            b"PROXY TCP6 192.0.2.7 2001:db8::1 1 2\r\n",
            b"PROXY TCP4 192.0.2.256 10.0.0.1 1 2\r\n",
            b"PROXY TCP4 192.0.2.07 10.0.0.1 1 2\r\n",
            b"PROXY TCP4 192.0.2.7 10.0.0.1 65536 2\r\n",
            b"PROXY TCP4 192.0.2.7 10.0.0.1 1 99999\r\n",
            b"PROXY TCP4 192.0.2.7 10.0.0.1 01 2\r\n",
            b"PROXY TCP4 192.0.2.7 10.0.0.1 -1 2\r\n",
            b"PROXY TCP4 192.0.2.7 10.0.0.1 +1 2\r\n",
            b"PROXY TCP4 192.0.2.7 10.0.0.1 1 \r\n",
            b"PROXY TCP4 192.0.2.7 10.0.0.1 1 2\n\r\n",
            b"PROXY TCP4 192.0.2.7\t10.0.0.1 1 2\r\n",
            b"PROXY TCP4 \xff.0.2.7 10.0.0.1 1 2\r\n",
        ] {
            assert_eq!(parse(bytes), Err(Error::V1Malformed), "{bytes:?}");
        }
    }

    #[test]
    fn anything_else_is_no_header() {
        for bytes in [
            &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            b"PROXYTCP4 192.0.2.7 10.0.0.1 1 2\r\n",
            b"proxy TCP4 192.0.2.7 10.0.0.1 1 2\r\n",
            b"\r\n\r\n\0\r\nQUIT!",
            b"\r\nGET",
            b"X",
        ] {
            assert_eq!(parse(bytes), Err(Error::Missing), "{bytes:?}");
        }
    }

    #[test]
    fn valid_v2_headers() {
        let tlv = [0x04, 0x00, 0x03, b'a', b'b', b'c'];
        for (bytes, source) in [
            (v2_inet(&[]), addr("192.0.2.7:54321")),
            (v2_inet(&tlv), addr("192.0.2.7:54321")),
            (v2_inet6(), addr("[2001:db8::7]:443")),
            // LOCAL: the proxy's own connection, whatever its block says.
            (v2(0x20, 0x00, &[]), None),
            (v2(0x20, 0x11, &[1, 2, 3]), None),
            // UNSPEC and UNIX families: the peer stands.
            (v2(0x21, 0x00, &[]), None),
            (v2(0x21, 0x31, &[0; 216]), None),
        ] {
            parses_to(&bytes, source);
        }
    }

    #[test]
    fn malformed_v2_headers() {
        for (bytes, error) in [
            (v2(0x11, 0x11, &[0; 12]), Error::V2Version),
            (v2(0x31, 0x11, &[0; 12]), Error::V2Version),
            (v2(0x22, 0x11, &[0; 12]), Error::V2Command),
            (v2(0x2f, 0x11, &[0; 12]), Error::V2Command),
            (v2(0x21, 0x41, &[0; 12]), Error::V2Family),
            (v2(0x21, 0x12, &[0; 12]), Error::V2Family),
            (v2(0x21, 0x10, &[0; 12]), Error::V2Family),
            (v2(0x21, 0x23, &[0; 36]), Error::V2Family),
            (v2(0x21, 0x11, &[0; 11]), Error::V2Short),
            (v2(0x21, 0x21, &[0; 35]), Error::V2Short),
            (v2(0x21, 0x21, &[0; 12]), Error::V2Short),
        ] {
            assert_eq!(parse(&bytes), Err(error), "{bytes:?}");
        }
        // A bad version or family is refused before the rest arrives.
        let mut early = V2_SIGNATURE.to_vec();
        early.push(0x11);
        assert_eq!(parse(&early), Err(Error::V2Version));
        early[12] = 0x21;
        early.push(0x51);
        assert_eq!(parse(&early), Err(Error::V2Family));
    }

    #[test]
    fn every_prefix_of_a_header_needs_more_bytes() {
        let v1 = b"PROXY TCP4 192.0.2.7 10.0.0.1 54321 80\r\n".to_vec();
        for whole in [v1, v2_inet(&[1, 0, 1, 9]), v2_inet6(), v2(0x20, 0x00, &[])] {
            for n in 0..whole.len() {
                assert_eq!(parse(&whole[..n]), Ok(None), "{:?}", &whole[..n]);
            }
            assert!(parse(&whole).unwrap().is_some());
        }
        // A v2 length beyond what arrived waits for the rest (the header timeout ends that).
        let mut long = v2_inet(&[]);
        long[14..16].copy_from_slice(&1000u16.to_be_bytes());
        assert_eq!(parse(&long), Ok(None));
    }

    /// Mutated headers never panic, and a header found is never longer than the bytes given nor
    /// than a v1 line may be.
    #[test]
    fn mutations_never_panic() {
        let mut rng = Rng(0x5eed_0f9a_0c1e_5500);
        let seeds = [
            b"PROXY TCP4 192.0.2.7 10.0.0.1 54321 80\r\nGET / HTTP/1.1\r\n\r\n".to_vec(),
            b"PROXY TCP6 2001:db8::7 2001:db8::1 443 8080\r\n".to_vec(),
            b"PROXY UNKNOWN\r\n".to_vec(),
            v2_inet(&[0x04, 0x00, 0x01, b'x']),
            v2_inet6(),
            v2(0x20, 0x00, &[]),
        ];
        let interesting = b"\r\n \0\x11\x21\x20\x01\xff:.0123456789PROXYTCPUNKOW";
        for _ in 0..20_000 {
            let mut bytes = rng.pick(&seeds).cloned().unwrap_or_default();
            for _ in 0..=rng.below(4) {
                let at = rng.below(bytes.len() + 1);
                let byte = rng.pick(interesting).copied().unwrap_or(b'x');
                match rng.below(3) {
                    0 => {
                        if let Some(b) = bytes.get_mut(at) {
                            *b = byte;
                        }
                    }
                    1 => bytes.insert(at.min(bytes.len()), byte),
                    _ => {
                        if at < bytes.len() {
                            bytes.remove(at);
                        }
                    }
                }
            }
            let cut = rng.below(bytes.len() + 1);
            bytes.truncate(cut);
            if let Ok(Some(header)) = parse(&bytes) {
                assert!(header.len <= bytes.len());
                if !bytes.starts_with(&V2_SIGNATURE) {
                    assert!(header.len <= V1_MAX);
                }
            }
        }
    }
}
