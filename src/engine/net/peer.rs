//! Who is at the other end of a connection: an IP address and port, or a Unix-socket peer; the
//! address written as `socket` writes it; and REMOTE_ADDR/REMOTE_PORT (and, over TLS, HTTPS and
//! the client certificate's subject) as Python strings, made once for all the requests of a
//! connection.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::engine::http::decimal::{decimal, push_decimal};
use crate::engine::net::tls::TlsStream;

/// The address of a client: an IP address and port, or a Unix-socket peer (which has no address
/// worth giving: REMOTE_ADDR is "" and there is no REMOTE_PORT, as gunicorn does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    Ip(SocketAddr),
    Unix,
}

impl Peer {
    /// The IP address, None for a Unix-socket peer.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Peer::Ip(a) => Some(a.ip()),
            Peer::Unix => None,
        }
    }

    /// `client_address` as `socketserver` gives it: `(host, port)`, `("", 0)` for a Unix peer.
    pub fn pair(&self) -> (String, u16) {
        match self {
            Peer::Ip(a) => (ip_text(a.ip()), a.port()),
            Peer::Unix => (String::new(), 0),
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Ip(a) => a.fmt(f),
            Peer::Unix => f.write_str("a Unix-socket peer"),
        }
    }
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

/// REMOTE_ADDR and REMOTE_PORT of a connection, made once for all its requests. A Unix-socket
/// peer has REMOTE_ADDR "" and no REMOTE_PORT.
pub struct PeerEnviron {
    pub addr: Py<PyString>,
    pub port: Option<Py<PyString>>,
    /// Set on a TLS connection: HTTPS is on.
    pub https: bool,
    /// SSL_CLIENT_S_DN: the subject of the client's certificate, on a TLS connection with one.
    pub client_subject: Option<Py<PyString>>,
}

impl PeerEnviron {
    /// `tls`: the connection's TLS, if it has any (its handshake is over).
    pub fn new(py: Python<'_>, peer: &Peer, tls: Option<&TlsStream>) -> Self {
        let (addr, port) = match peer {
            Peer::Ip(a) => (
                PyString::new(py, &ip_text(a.ip())).unbind(),
                Some(PyString::new(py, &decimal(a.port().into())).unbind()),
            ),
            Peer::Unix => (intern!(py, "").clone().unbind(), None),
        };
        PeerEnviron {
            addr,
            port,
            https: tls.is_some(),
            client_subject: tls
                .and_then(TlsStream::client_subject)
                .map(|s| PyString::new(py, &s).unbind()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ip_text;
    use std::net::IpAddr;

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
