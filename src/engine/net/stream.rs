//! A client's socket, TCP or Unix-domain, plain or with TLS.
//!
//! Everything above this file reads and writes a [`Stream`] without asking which kind it is; only
//! the environ (REMOTE_ADDR, REMOTE_PORT, HTTPS) and the logs look at what is at the other end.

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsRawFd, RawFd};

use mio::net::{TcpStream, UnixStream};

use crate::engine::net::tls::TlsStream;

/// A connected client socket.
pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    /// TLS over one of the others.
    Tls(Box<TlsStream>),
}

impl Stream {
    /// Turns Nagle's algorithm off, so a small write does not wait for the peer's ACK of the
    /// one before it (which a client may delay by 40 ms). A no-op on a Unix socket.
    pub fn set_nodelay(&self) {
        match self {
            Stream::Tcp(s) => {
                let _ = s.set_nodelay(true);
            }
            Stream::Unix(_) => {}
            Stream::Tls(s) => s.sock().set_nodelay(),
        }
    }

    /// Whether Nagle's algorithm is off (false on a Unix socket), for the tests.
    #[cfg(test)]
    pub fn nodelay(&self) -> bool {
        match self {
            Stream::Tcp(s) => s.nodelay().unwrap_or(false),
            Stream::Unix(_) => false,
            Stream::Tls(s) => s.sock().nodelay(),
        }
    }

    /// The TLS connection, when this is one.
    pub fn tls(&self) -> Option<&TlsStream> {
        match self {
            Stream::Tls(s) => Some(s),
            _ => None,
        }
    }

    /// Whether a TLS handshake is still going on (false on a plain socket).
    pub fn handshaking(&self) -> bool {
        self.tls().is_some_and(TlsStream::handshaking)
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
            Stream::Tls(s) => s.write_vectored(bufs),
        }
    }

    /// Nothing on a plain socket; with TLS, writes the records not sent yet (`WouldBlock` until
    /// the socket has taken them all).
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tls(s) => s.flush(),
            _ => Ok(()),
        }
    }
}

impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tls(s) => s.sock().as_raw_fd(),
        }
    }
}

/// `mio::event::Source` for a type whose `source()` gives the mio socket it holds: every call
/// goes to that socket. ([`Stream`] and `listener::Listener` use it.)
macro_rules! source_by_socket {
    ($kind:ident) => {
        impl mio::event::Source for $kind {
            fn register(
                &mut self,
                registry: &mio::Registry,
                token: mio::Token,
                interests: mio::Interest,
            ) -> std::io::Result<()> {
                self.source().register(registry, token, interests)
            }

            fn reregister(
                &mut self,
                registry: &mio::Registry,
                token: mio::Token,
                interests: mio::Interest,
            ) -> std::io::Result<()> {
                self.source().reregister(registry, token, interests)
            }

            fn deregister(&mut self, registry: &mio::Registry) -> std::io::Result<()> {
                self.source().deregister(registry)
            }
        }
    };
}
pub(crate) use source_by_socket;

impl Stream {
    /// The socket the event loop registers (a TLS connection's own).
    fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
            Stream::Tls(s) => s.sock_mut().source(),
        }
    }
}

source_by_socket!(Stream);

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mio::{Events, Interest, Poll, Token};

    use super::*;

    /// A connected TCP stream over loopback as the engine holds it, and the client's end.
    fn tcp() -> (Stream, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (ours, _) = listener.accept().unwrap();
        ours.set_nonblocking(true).unwrap();
        (Stream::Tcp(TcpStream::from_std(ours)), client)
    }

    fn unix() -> (Stream, std::os::unix::net::UnixStream) {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        (Stream::Unix(UnixStream::from_std(ours)), theirs)
    }

    /// Writes (one slice, then several) and reads go to the socket held, whichever its kind.
    fn round_trip(mut ours: Stream, peer: &mut (impl Read + Write)) {
        assert_eq!(ours.write(b"one ").unwrap(), 4);
        let slices = [
            IoSlice::new(b"two "),
            IoSlice::new(b""),
            IoSlice::new(b"three"),
        ];
        assert_eq!(ours.write_vectored(&slices).unwrap(), 9);
        ours.flush().unwrap();
        let mut got = [0u8; 13];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"one two three");
        let mut buf = [0u8; 8];
        assert_eq!(
            ours.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock,
            "non-blocking"
        );
        peer.write_all(b"back").unwrap();
        // Registered with a poll, the socket says when it is readable.
        let mut poll = Poll::new().unwrap();
        poll.registry()
            .register(&mut ours, Token(7), Interest::READABLE)
            .unwrap();
        let mut events = Events::with_capacity(4);
        poll.poll(&mut events, Some(Duration::from_secs(1)))
            .unwrap();
        assert!(events
            .iter()
            .any(|e| e.token() == Token(7) && e.is_readable()));
        assert_eq!(ours.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"back");
        poll.registry().deregister(&mut ours).unwrap();
    }

    #[test]
    fn a_tcp_stream_reads_writes_and_registers() {
        let (ours, mut client) = tcp();
        round_trip(ours, &mut client);
    }

    #[test]
    fn a_unix_stream_reads_writes_and_registers() {
        let (ours, mut client) = unix();
        round_trip(ours, &mut client);
    }

    #[test]
    fn set_nodelay_turns_nagle_off_on_tcp_and_does_nothing_on_unix() {
        let (ours, _client) = tcp();
        assert!(!ours.nodelay());
        ours.set_nodelay();
        assert!(ours.nodelay());
        let (ours, _client) = unix();
        ours.set_nodelay();
    }
}
