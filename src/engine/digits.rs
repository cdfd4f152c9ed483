//! Numbers and addresses written as text without `core::fmt`, whose machinery costs more than
//! the response itself on the hot path (a Content-Length, a client's address).

use std::net::IpAddr;

/// Appends `n` in decimal.
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// `n` in decimal.
pub fn decimal(n: u64) -> String {
    let mut out = Vec::with_capacity(20);
    push_decimal(&mut out, n);
    String::from_utf8(out).unwrap_or_default()
}

/// An IP address as `socket` gives it: dotted decimal for IPv4 (written here), the standard
/// library's canonical form for IPv6.
pub fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let mut out = Vec::with_capacity(15);
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_decimal(&mut out, u64::from(octet));
            }
            String::from_utf8(out).unwrap_or_default()
        }
        IpAddr::V6(v6) => v6.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{decimal, ip_text, push_decimal};
    use std::net::IpAddr;

    #[test]
    fn decimals() {
        for n in [0, 7, 10, 13, 65_535, u64::MAX] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
            assert_eq!(decimal(n), n.to_string());
        }
    }

    #[test]
    fn addresses() {
        for text in [
            "127.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "10.20.3.40",
            "::1",
            "fe80::1:2",
        ] {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }
}
