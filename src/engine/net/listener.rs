//! A listening socket, TCP (IPv4 or IPv6) or Unix-domain, told apart by `getsockname(2)`.
//!
//! The engine never owns the caller's descriptor: it serves a `dup(2)` of it, so that closing
//! its copy (on a graceful stop) leaves the socket open for whoever else shares it.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};

use mio::net::{TcpListener, UnixListener};

use crate::engine::net::peer::Peer;
use crate::engine::net::stream::Stream;

/// What kind of listening socket a descriptor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Tcp,
    Unix,
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn int_option(fd: RawFd, option: libc::c_int) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for writes and `len` is the size of `value`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value)
}

/// The family of the stream socket `fd`; an `InvalidInput` error that says why when it is no
/// socket the engine can serve (not a socket, not a stream socket, another address family, not
/// listening).
pub fn family(fd: RawFd) -> io::Result<Family> {
    // SAFETY: an all-zero sockaddr_storage is a valid value of this plain C struct.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `addr` has room for `len` bytes, which getsockname writes at most.
    let rc = unsafe {
        libc::getsockname(
            fd,
            (&mut addr as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        let err = io::Error::last_os_error();
        return Err(invalid(format!("listen fd {fd} is not a socket: {err}")));
    }
    let family = match libc::c_int::from(addr.ss_family) {
        libc::AF_INET | libc::AF_INET6 => Family::Tcp,
        libc::AF_UNIX => Family::Unix,
        other => {
            return Err(invalid(format!(
                "listen fd {fd} is neither a TCP nor a Unix-domain socket (address family {other})"
            )))
        }
    };
    if int_option(fd, libc::SO_TYPE)? != libc::SOCK_STREAM {
        return Err(invalid(format!("listen fd {fd} is not a stream socket")));
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if int_option(fd, libc::SO_ACCEPTCONN)? == 0 {
        return Err(invalid(format!(
            "listen fd {fd} is not listening (call listen() on it first)"
        )));
    }
    Ok(family)
}

/// The engine's own copy of a listening socket, non-blocking.
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    /// A non-blocking `dup(2)` of `fd`, which stays the caller's.
    pub fn dup(fd: RawFd, family: Family) -> io::Result<Self> {
        // SAFETY: dup() of a descriptor the caller keeps open; we own the copy from here on.
        let copy = unsafe { libc::dup(fd) };
        if copy < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(match family {
            Family::Tcp => {
                // SAFETY: `copy` is a fresh descriptor of a listening TCP socket that nothing
                // else owns.
                let std = unsafe { std::net::TcpListener::from_raw_fd(copy) };
                std.set_nonblocking(true)?;
                Listener::Tcp(TcpListener::from_std(std))
            }
            Family::Unix => {
                // SAFETY: as above, a listening Unix-domain socket.
                let std = unsafe { std::os::unix::net::UnixListener::from_raw_fd(copy) };
                std.set_nonblocking(true)?;
                Listener::Unix(UnixListener::from_std(std))
            }
        })
    }

    /// Takes one waiting connection (non-blocking, `WouldBlock` when none is waiting).
    pub fn accept(&self) -> io::Result<(Stream, Peer)> {
        match self {
            Listener::Tcp(l) => {
                // TCP_NODELAY is set later, and only on a connection that writes twice (see
                // `Conn::write`): one whole response per connection never needs it.
                let (stream, peer) = l.accept()?;
                Ok((Stream::Tcp(stream), Peer::Ip(peer)))
            }
            Listener::Unix(l) => {
                let (stream, _) = l.accept()?;
                Ok((Stream::Unix(stream), Peer::Unix))
            }
        }
    }
}

impl AsRawFd for Listener {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Listener::Tcp(l) => l.as_raw_fd(),
            Listener::Unix(l) => l.as_raw_fd(),
        }
    }
}

impl Listener {
    /// The socket the event loop registers.
    fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Listener::Tcp(l) => l,
            Listener::Unix(l) => l,
        }
    }
}

crate::engine::net::stream::source_by_socket!(Listener);

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;

    use super::*;

    /// A path for a Unix-domain socket of this test run, free.
    fn socket_path(name: &str) -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("wsgiref-rs-{}-{name}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        path
    }

    fn refused(fd: RawFd) -> String {
        let err = family(fd).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        err.to_string()
    }

    #[test]
    fn family_tells_tcp_from_unix_and_refuses_what_cannot_be_served() {
        let tcp4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert_eq!(family(tcp4.as_raw_fd()).unwrap(), Family::Tcp);
        if let Ok(tcp6) = std::net::TcpListener::bind("[::1]:0") {
            assert_eq!(family(tcp6.as_raw_fd()).unwrap(), Family::Tcp);
        }
        let path = socket_path("family");
        let unix = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert_eq!(family(unix.as_raw_fd()).unwrap(), Family::Unix);
        std::fs::remove_file(&path).unwrap();

        let file = std::fs::File::open("/dev/null").unwrap();
        assert!(refused(file.as_raw_fd()).contains("is not a socket"));
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(refused(udp.as_raw_fd()).contains("is not a stream socket"));
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let (connected, _other) = std::os::unix::net::UnixStream::pair().unwrap();
            assert!(refused(connected.as_raw_fd()).contains("is not listening"));
        }
    }

    #[test]
    fn a_tcp_copy_accepts_without_waiting_and_leaves_the_callers_socket_open() {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let ours = Listener::dup(std_listener.as_raw_fd(), Family::Tcp).unwrap();
        assert_ne!(ours.as_raw_fd(), std_listener.as_raw_fd());
        let err = ours.accept().err().expect("nobody is waiting");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

        let mut client = std::net::TcpStream::connect(addr).unwrap();
        let (mut stream, peer) = loop {
            match ours.accept() {
                Ok(pair) => break pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("accept: {e}"),
            }
        };
        assert_eq!(peer, Peer::Ip(client.local_addr().unwrap()));
        assert!(matches!(stream, Stream::Tcp(_)));
        client.write_all(b"ping").unwrap();
        let mut got = [0u8; 4];
        while let Err(e) = stream.read_exact(&mut got) {
            assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        }
        assert_eq!(&got, b"ping");

        // Closing the engine's copy leaves the caller's socket listening.
        drop(ours);
        let _second = std::net::TcpStream::connect(addr).unwrap();
        assert!(std_listener.accept().is_ok());
    }

    #[test]
    fn a_unix_copy_accepts_unix_peers() {
        let path = socket_path("accept");
        let std_listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let ours = Listener::dup(std_listener.as_raw_fd(), Family::Unix).unwrap();
        let _client = std::os::unix::net::UnixStream::connect(&path).unwrap();
        let (stream, peer) = ours.accept().unwrap();
        assert_eq!(peer, Peer::Unix);
        assert!(matches!(stream, Stream::Unix(_)));
        std::fs::remove_file(&path).unwrap();
    }
}
