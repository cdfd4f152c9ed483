//! The host a request names (RFC 9112 section 3.2): the syntax of a `Host` field value, and the
//! authority and path of an absolute-form request-target. Pure: no GIL, no I/O.
//!
//! `Host = uri-host [ ":" port ]` (RFC 9110 section 7.2), with RFC 3986's grammar:
//! `uri-host = IP-literal / IPv4address / reg-name`, `port = *DIGIT`. An empty value is valid
//! (a client sends one when the target URI has no authority).

use std::net::Ipv6Addr;
use std::ops::Range;

/// unreserved / sub-delims (RFC 3986 section 2): what a reg-name holds besides `%XX`, as a
/// table, since every request's Host value is checked byte by byte.
const REG_NAME: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric();
        b += 1;
    }
    let others = b"-._~!$&'()*+,;=";
    let mut i = 0;
    while i < others.len() {
        table[others[i] as usize] = true;
        i += 1;
    }
    table
};

fn is_reg_name_byte(b: u8) -> bool {
    REG_NAME[usize::from(b)]
}

/// `reg-name` (which covers `IPv4address`): unreserved, sub-delims and `%` HEXDIG HEXDIG.
fn is_reg_name(s: &[u8]) -> bool {
    let mut rest = s;
    while let Some((&b, tail)) = rest.split_first() {
        rest = match (b, tail) {
            (b'%', [hi, lo, more @ ..]) if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() => more,
            (b'%', _) => return false,
            _ if is_reg_name_byte(b) => tail,
            _ => return false,
        };
    }
    true
}

/// `IP-literal` without its brackets: an IPv6 address, or `IPvFuture`
/// (`"v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )`).
fn is_ip_literal_inside(s: &[u8]) -> bool {
    if let [b'v' | b'V', rest @ ..] = s {
        let Some(dot) = rest.iter().position(|&b| b == b'.') else {
            return false;
        };
        let (version, tail) = (&rest[..dot], &rest[dot + 1..]);
        return !version.is_empty()
            && version.iter().all(u8::is_ascii_hexdigit)
            && !tail.is_empty()
            && tail.iter().all(|&b| b == b':' || is_reg_name_byte(b));
    }
    std::str::from_utf8(s).is_ok_and(|text| text.parse::<Ipv6Addr>().is_ok())
}

/// Splits `uri-host [":" port]` into the host and the port's digits, or None when it is not of
/// that shape.
fn split_host_port(value: &[u8]) -> Option<(&[u8], &[u8])> {
    let (host, rest) = if value.first() == Some(&b'[') {
        let close = value.iter().position(|&b| b == b']')?;
        let inside = value.get(1..close)?;
        if !is_ip_literal_inside(inside) {
            return None;
        }
        (&value[..=close], &value[close + 1..])
    } else {
        let end = value.iter().position(|&b| b == b':').unwrap_or(value.len());
        let host = &value[..end];
        if !is_reg_name(host) {
            return None;
        }
        (host, &value[end..])
    };
    let port = match rest {
        [] => &rest[..0],
        [b':', digits @ ..] if digits.iter().all(u8::is_ascii_digit) => digits,
        _ => return None,
    };
    Some((host, port))
}

/// Whether `value` is a valid `Host` field value: `uri-host [":" port]`.
pub fn is_valid_host(value: &[u8]) -> bool {
    // Nearly every request: a name or an IPv4 address, perhaps a port, checked in one pass.
    match value.iter().position(|&b| !is_reg_name_byte(b)) {
        None => true,
        Some(i) if value[i] == b':' => value[i + 1..].iter().all(u8::is_ascii_digit),
        // `%XX`, an IP literal, or not a host: the whole grammar.
        Some(_) => split_host_port(value).is_some(),
    }
}

/// Where the parts of an `http` or `https` absolute-form request-target are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsoluteForm {
    /// The authority (`host[:port]`), which stands for the Host field (RFC 9112 section 3.2.2).
    pub authority: Range<usize>,
    /// Where the path (possibly empty) and query start: the origin-form part.
    pub path_start: usize,
}

/// Why an absolute-form target was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorityError {
    /// `user@host`: RFC 9110 section 4.2.4 has a recipient treat userinfo as an error.
    Userinfo,
    /// An `http` URI with an empty host (RFC 9110 section 4.2.1: it MUST be rejected).
    EmptyHost,
    /// Not `uri-host [":" port]`.
    Invalid,
}

/// The authority and path of `target` when it is an absolute-form target with the `http` or
/// `https` scheme (case-insensitive); `Ok(None)` for any other form, which is kept as sent.
pub fn absolute_form(target: &[u8]) -> Result<Option<AbsoluteForm>, AuthorityError> {
    let has_prefix = |prefix: &[u8]| {
        target
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    let start = if has_prefix(b"http://") {
        7
    } else if has_prefix(b"https://") {
        8
    } else {
        return Ok(None);
    };
    let rest = &target[start..];
    let len = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = &rest[..len];
    if authority.contains(&b'@') {
        return Err(AuthorityError::Userinfo);
    }
    let (host, _) = split_host_port(authority).ok_or(AuthorityError::Invalid)?;
    if host.is_empty() {
        return Err(AuthorityError::EmptyHost);
    }
    Ok(Some(AbsoluteForm {
        authority: start..start + len,
        path_start: start + len,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const HOSTS: &[(&[u8], bool)] = &[
        (b"example.test", true),
        (b"example.test:8080", true),
        (b"Example.TEST:80", true),
        (b"127.0.0.1", true),
        (b"127.0.0.1:8000", true),
        (b"[::1]", true),
        (b"[::1]:8000", true),
        (b"[2001:db8::7]:443", true),
        (b"[v1.fe80::a+en1]", true),
        (b"", true),                      // no authority: an empty Host
        (b"host:", true),                 // port = *DIGIT
        (b"xn--caf-dma.test", true),
        (b"a%2Eb", true),
        (b"a,b", true),                   // sub-delims: valid, though two Host lines are not
        (b"a b", false),
        (b"a/b", false),
        (b"a:b", false),
        (b"a:80:90", false),
        (b"a:-1", false),
        (b"user@host", false),
        (b"[::1", false),
        (b"[::1]x", false),
        (b"[zz::1]", false),
        (b"[127.0.0.1]", false),
        (b"::1", false),
        (b"a%2", false),
        (b"a%zz", false),
        (b"caf\xc3\xa9", false),
        (b"a\"b", false),
        (b"[v.x]", false),
        (b"[v1.]", false),
    ];

    #[test]
    fn host_values() {
        for &(value, valid) in HOSTS {
            assert_eq!(
                is_valid_host(value),
                valid,
                "{}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn absolute_forms() {
        let form = |t: &[u8]| absolute_form(t);
        let parts = |t: &'static [u8]| {
            let f = absolute_form(t).unwrap().unwrap();
            (&t[f.authority], &t[f.path_start..])
        };
        assert_eq!(
            parts(b"http://example.test/abs/p?q=1"),
            (&b"example.test"[..], &b"/abs/p?q=1"[..])
        );
        assert_eq!(parts(b"HTTPS://h:8443"), (&b"h:8443"[..], &b""[..]));
        assert_eq!(parts(b"http://h?q"), (&b"h"[..], &b"?q"[..]));
        assert_eq!(parts(b"http://[::1]:80/x"), (&b"[::1]:80"[..], &b"/x"[..]));
        assert_eq!(form(b"/origin?x"), Ok(None));
        assert_eq!(form(b"*"), Ok(None));
        assert_eq!(form(b"ftp://h/x"), Ok(None));
        assert_eq!(form(b"http:/x"), Ok(None));
        assert_eq!(form(b"http://u:p@h/x"), Err(AuthorityError::Userinfo));
        assert_eq!(form(b"http:///x"), Err(AuthorityError::EmptyHost));
        assert_eq!(form(b"http://:80/x"), Err(AuthorityError::EmptyHost));
        assert_eq!(form(b"http://a b/x"), Err(AuthorityError::Invalid));
        assert_eq!(form(b"http://h:x/"), Err(AuthorityError::Invalid));
    }
}
