//! A client certificate's subject as text, the way RFC 4514 writes a distinguished name (and
//! nginx's `$ssl_client_s_dn`, Python's `cryptography` `Name.rfc4514_string()`): the relative
//! names last first, joined by commas, each `TYPE=value` with the characters RFC 4514 reserves
//! escaped. Parsing the certificate is x509-parser's.

use x509_parser::der_parser::asn1_rs::Any;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::AttributeTypeAndValue;

/// The short names RFC 4514 section 3 gives; any other attribute goes by its dotted OID.
const SHORT_NAMES: [(&str, &str); 9] = [
    ("2.5.4.3", "CN"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.6", "C"),
    ("2.5.4.9", "STREET"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("0.9.2342.19200300.100.1.1", "UID"),
];

/// The subject of the DER certificate `der`; None when it is no certificate.
pub fn subject(der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let rdns: Vec<String> = cert
        .subject()
        .iter()
        .map(|rdn| rdn.iter().map(attribute).collect::<Vec<_>>().join("+"))
        .collect();
    Some(rdns.into_iter().rev().collect::<Vec<_>>().join(","))
}

fn attribute(attr: &AttributeTypeAndValue<'_>) -> String {
    let oid = attr.attr_type().to_id_string();
    let name = SHORT_NAMES
        .iter()
        .find(|(dotted, _)| *dotted == oid)
        .map_or(oid.as_str(), |(_, short)| short);
    match attr.as_str() {
        Ok(text) => format!("{name}={}", escape(text)),
        Err(_) => format!("{name}=#{}", hex(attr.attr_value())),
    }
}

/// The value's whole DER encoding in hex, as RFC 4514 writes a value that is no string.
fn hex(value: &Any<'_>) -> String {
    let mut der = match value.header.raw_tag() {
        Some(tag) => tag.to_vec(),
        None => {
            let constructed = if value.header.is_constructed() {
                0x20
            } else {
                0
            };
            let class = (value.header.class() as u8) << 6;
            vec![class | constructed | (value.header.tag().0 & 0x1f) as u8]
        }
    };
    let len = value.data.len();
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => der.push(short),
        _ => {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|&b| b == 0)
                .collect();
            der.push(0x80 | bytes.len() as u8);
            der.extend_from_slice(&bytes);
        }
    }
    der.extend_from_slice(value.data);
    der.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 4514 section 2.4: `"+,;<>\` and NUL escaped everywhere, a leading `#` or space and a
/// trailing space escaped.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\0' => out.push_str("\\00"),
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_as_rfc_4514_says() {
        for (raw, want) in [
            ("plain", "plain"),
            ("a,b+c", "a\\,b\\+c"),
            ("#x", "\\#x"),
            (" lead and trail ", "\\ lead and trail\\ "),
            ("q\"<>;\\", "q\\\"\\<\\>\\;\\\\"),
            ("mid#dle", "mid#dle"),
            ("nul\0", "nul\\00"),
            ("", ""),
        ] {
            assert_eq!(escape(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn what_is_no_certificate_has_no_subject() {
        assert_eq!(subject(b""), None);
        assert_eq!(subject(b"\x30\x03\x02\x01\x00"), None);
    }
}
