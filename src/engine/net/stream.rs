//! A client's socket, TCP or Unix-domain, and who is at the other end.
//!
//! Everything above this file reads and writes a [`Stream`] without asking which kind it is; only
//! the environ (REMOTE_ADDR, REMOTE_PORT) and the logs look at the [`Peer`].

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsRawFd, RawFd};

use mio::net::{TcpStream, UnixStream};

/// A connected client socket.
pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    /// Turns Nagle's algorithm off, so a small write does not wait for the peer's ACK of the
    /// one before it (which a client may delay by 40 ms). A no-op on a Unix socket.
    pub fn set_nodelay(&self) {
        if let Stream::Tcp(s) = self {
            let _ = s.set_nodelay(true);
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }
}

/// `mio::event::Source` for an enum whose `Tcp` and `Unix` variants each hold a mio socket:
/// every call goes to the socket held. ([`Stream`] and `listener::Listener` use it.)
macro_rules! source_by_variant {
    ($kind:ident) => {
        impl mio::event::Source for $kind {
            fn register(
                &mut self,
                registry: &mio::Registry,
                token: mio::Token,
                interests: mio::Interest,
            ) -> std::io::Result<()> {
                match self {
                    $kind::Tcp(s) => mio::event::Source::register(s, registry, token, interests),
                    $kind::Unix(s) => mio::event::Source::register(s, registry, token, interests),
                }
            }

            fn reregister(
                &mut self,
                registry: &mio::Registry,
                token: mio::Token,
                interests: mio::Interest,
            ) -> std::io::Result<()> {
                match self {
                    $kind::Tcp(s) => mio::event::Source::reregister(s, registry, token, interests),
                    $kind::Unix(s) => mio::event::Source::reregister(s, registry, token, interests),
                }
            }

            fn deregister(&mut self, registry: &mio::Registry) -> std::io::Result<()> {
                match self {
                    $kind::Tcp(s) => mio::event::Source::deregister(s, registry),
                    $kind::Unix(s) => mio::event::Source::deregister(s, registry),
                }
            }
        }
    };
}
pub(crate) use source_by_variant;

source_by_variant!(Stream);
