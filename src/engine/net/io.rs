//! Blocking-style reads and writes on a non-blocking socket, with a deadline.
//!
//! Connections stay non-blocking for the event loop; while a request is being served, its
//! executor reads and writes as if blocking: try the syscall, and on `WouldBlock` wait for the
//! socket with `poll(2)` until the deadline. Callers hold no GIL here.

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use crate::engine::net::stream::Stream;

/// When a blocking read or write gives up. A timeout starts counting the first time the call
/// has to wait: the clock is read only then, never on the common path where the socket is ready.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    timeout: Option<Duration>,
    at: Option<Instant>,
}

impl Deadline {
    /// `timeout` after the call first waits.
    pub fn after(timeout: Duration) -> Self {
        Deadline {
            timeout: Some(timeout),
            at: None,
        }
    }

    /// A fixed instant.
    pub fn at(at: Instant) -> Self {
        Deadline {
            timeout: None,
            at: Some(at),
        }
    }

    /// The instant, fixed now if it was not yet; None: no limit.
    fn instant(&mut self) -> Option<Instant> {
        if self.at.is_none() {
            self.at = self.timeout.map(|t| Instant::now() + t);
        }
        self.at
    }
}

/// Waits until `fd` is readable (or writable), or the deadline passes.
fn wait(fd: RawFd, writable: bool, deadline: &mut Deadline) -> io::Result<()> {
    let events = if writable {
        libc::POLLOUT
    } else {
        libc::POLLIN
    };
    loop {
        let timeout_ms = match deadline.instant() {
            None => -1,
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "socket timed out"));
                }
                (d - now).as_millis().clamp(1, i32::MAX as u128) as i32
            }
        };
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: `pfd` is a valid pollfd for the duration of the call, and we pass a count of 1.
        let ready = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        match ready {
            // Readable, writable, hung up or in error: the next read or write tells which.
            1.. => return Ok(()),
            0 => return Err(io::Error::new(io::ErrorKind::TimedOut, "socket timed out")),
            _ => {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
    }
}

/// Waits until one of `fds` is readable or the deadline passes: true when one is.
pub fn wait_any_readable(fds: &[RawFd], deadline: Instant) -> bool {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    loop {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        let timeout_ms = (deadline - now).as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: `pfds` is a valid array of `pfds.len()` pollfds for the duration of the call.
        let ready =
            unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
        match ready {
            1.. => return true,
            0 => return false,
            _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
            _ => return false,
        }
    }
}

/// Waits until `fd` is writable or the deadline passes.
pub fn wait_writable(fd: RawFd, deadline: &mut Deadline) -> io::Result<()> {
    wait(fd, true, deadline)
}

/// Writes all of `parts`, in order, in as few syscalls as the kernel allows.
pub fn write_all(stream: &mut Stream, parts: &[&[u8]], deadline: &mut Deadline) -> io::Result<()> {
    let mut index = 0;
    let mut offset = 0;
    loop {
        // Skip what is written, and empty parts: a write of nothing would answer 0.
        while index < parts.len() && parts[index].len() == offset {
            index += 1;
            offset = 0;
        }
        if index == parts.len() {
            return flush(stream, deadline);
        }
        // On the stack: a response goes out in at most a few parts (head, chunk size, body, CRLF).
        let mut slices = [IoSlice::new(&[]); 8];
        let mut count = 0;
        for (slot, (i, p)) in slices.iter_mut().zip(parts[index..].iter().enumerate()) {
            *slot = IoSlice::new(if i == 0 { &p[offset..] } else { p });
            count += 1;
        }
        match stream.write_vectored(&slices[..count]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the socket took nothing",
                ))
            }
            Ok(mut n) => {
                while index < parts.len() && n > 0 {
                    let left = parts[index].len() - offset;
                    if n >= left {
                        n -= left;
                        index += 1;
                        offset = 0;
                    } else {
                        offset += n;
                        n = 0;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait(stream.as_raw_fd(), true, deadline)?
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Waits until the stream has sent what it holds (a TLS connection's records; nothing to do on
/// a plain socket).
pub fn flush(stream: &mut Stream, deadline: &mut Deadline) -> io::Result<()> {
    loop {
        match stream.flush() {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait(stream.as_raw_fd(), true, deadline)?
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// One `recv(2)` of at most `max` bytes onto the end of `buf`, into its spare capacity (never
/// zero-filled first): the count, 0 at end of stream, `WouldBlock` when nothing is there.
fn recv_into(fd: RawFd, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    buf.reserve(max);
    let spare = buf.spare_capacity_mut();
    let room = spare.len().min(max);
    // SAFETY: `spare` is writable memory of at least `room` bytes owned by `buf`; recv writes at
    // most `room` bytes into it.
    let n = unsafe { libc::recv(fd, spare.as_mut_ptr().cast(), room, 0) };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    // SAFETY: recv initialised the first `n` bytes of the spare capacity (n <= room).
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}

/// Reads what the socket has (at least one byte, or 0 at end of stream) onto the end of `buf`,
/// waiting for it until the deadline.
pub fn read_some(stream: &mut Stream, buf: &mut Vec<u8>, deadline: Deadline) -> io::Result<usize> {
    read_at_most(stream, buf, 64 * 1024, deadline)
}

/// As [`read_some`], at most `max` bytes.
pub fn read_at_most(
    stream: &mut Stream,
    buf: &mut Vec<u8>,
    max: usize,
    deadline: Deadline,
) -> io::Result<usize> {
    read_waiting(stream, deadline, |s| match s {
        Stream::Tls(_) => {
            // Plaintext comes out of rustls: through a zeroed room, as `Read` asks.
            let start = buf.len();
            buf.resize(start + max, 0);
            let got = s.read(&mut buf[start..]);
            buf.truncate(start + *got.as_ref().unwrap_or(&0));
            got
        }
        _ => recv_into(s.as_raw_fd(), buf, max),
    })
}

/// Reads what the socket has (at least one byte, or 0 at end of stream) into `dst`, waiting for
/// it until the deadline.
pub fn read_slice(stream: &mut Stream, dst: &mut [u8], deadline: Deadline) -> io::Result<usize> {
    read_waiting(stream, deadline, |s| s.read(dst))
}

/// Tries `read` until it gives bytes or end of stream, waiting for the socket (until the
/// deadline) each time it has nothing, and again when a signal interrupted it.
fn read_waiting(
    stream: &mut Stream,
    mut deadline: Deadline,
    mut read: impl FnMut(&mut Stream) -> io::Result<usize>,
) -> io::Result<usize> {
    loop {
        match read(stream) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait(stream.as_raw_fd(), false, &mut deadline)?
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// What [`read_ready`] found.
pub enum Ready {
    /// Bytes were appended; `drained` when the socket gave fewer than asked for, so it has
    /// nothing more right now (the next edge of readiness will say when it has).
    Read { drained: bool },
    /// Nothing to read yet.
    Empty,
    /// The peer closed its side.
    Eof,
}

/// Reads what the socket has right now, without waiting, through `scratch` (so an idle
/// connection's own buffer stays as small as the bytes it holds).
pub fn read_ready(stream: &mut Stream, buf: &mut Vec<u8>, scratch: &mut [u8]) -> io::Result<Ready> {
    loop {
        match stream.read(scratch) {
            Ok(0) => return Ok(Ready::Eof),
            Ok(n) => {
                buf.extend_from_slice(&scratch[..n]);
                // TLS: fewer plaintext bytes than asked for says nothing of the socket, whose
                // next record rustls has not read yet.
                return Ok(Ready::Read {
                    drained: n < scratch.len() && !matches!(stream, Stream::Tls(_)),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Ready::Empty),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::thread;

    use super::*;

    /// Our end of a socket pair as the engine holds it (non-blocking), and the peer's, blocking.
    fn pair() -> (Stream, UnixStream) {
        let (ours, theirs) = UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        (Stream::Unix(mio::net::UnixStream::from_std(ours)), theirs)
    }

    const SHORT: Duration = Duration::from_millis(50);

    #[test]
    fn a_read_with_nothing_to_read_times_out_at_its_deadline() {
        let (mut ours, _peer) = pair();
        let mut buf = Vec::new();
        let start = Instant::now();
        let err = read_some(&mut ours, &mut buf, Deadline::after(SHORT)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        // poll(2) counts whole milliseconds, rounded down.
        assert!(start.elapsed() >= SHORT - Duration::from_millis(1));
        // A fixed instant already past: at once.
        let err = read_some(&mut ours, &mut buf, Deadline::at(Instant::now())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(buf.is_empty());
    }

    #[test]
    fn a_timeout_counts_from_the_first_wait_not_from_its_making() {
        let (mut ours, mut peer) = pair();
        let deadline = Deadline::after(Duration::from_millis(200));
        thread::sleep(Duration::from_millis(300));
        let writer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            peer.write_all(b"late").unwrap();
            peer
        });
        let mut buf = Vec::new();
        assert_eq!(read_some(&mut ours, &mut buf, deadline).unwrap(), 4);
        assert_eq!(buf, b"late");
        drop(writer.join().unwrap());
    }

    #[test]
    fn reads_append_at_most_what_is_asked_and_zero_at_the_end() {
        let (mut ours, mut peer) = pair();
        peer.write_all(b"0123456789").unwrap();
        let mut buf = b">".to_vec();
        assert_eq!(
            read_at_most(&mut ours, &mut buf, 4, Deadline::after(SHORT)).unwrap(),
            4
        );
        assert_eq!(buf, b">0123");
        let mut dst = [0u8; 3];
        assert_eq!(
            read_slice(&mut ours, &mut dst, Deadline::after(SHORT)).unwrap(),
            3
        );
        assert_eq!(&dst, b"456");
        assert_eq!(
            read_some(&mut ours, &mut buf, Deadline::after(SHORT)).unwrap(),
            3
        );
        assert_eq!(buf, b">0123789");
        drop(peer);
        assert_eq!(
            read_some(&mut ours, &mut buf, Deadline::after(SHORT)).unwrap(),
            0
        );
    }

    #[test]
    fn read_ready_tells_empty_read_drained_and_eof() {
        let (mut ours, mut peer) = pair();
        let mut buf = Vec::new();
        let mut scratch = [0u8; 4];
        assert!(matches!(
            read_ready(&mut ours, &mut buf, &mut scratch).unwrap(),
            Ready::Empty
        ));
        peer.write_all(b"abcdef").unwrap();
        assert!(matches!(
            read_ready(&mut ours, &mut buf, &mut scratch).unwrap(),
            Ready::Read { drained: false }
        ));
        assert!(matches!(
            read_ready(&mut ours, &mut buf, &mut scratch).unwrap(),
            Ready::Read { drained: true }
        ));
        assert_eq!(buf, b"abcdef");
        drop(peer);
        assert!(matches!(
            read_ready(&mut ours, &mut buf, &mut scratch).unwrap(),
            Ready::Eof
        ));
    }

    #[test]
    fn write_all_sends_every_part_in_order_skipping_empty_ones() {
        let (mut ours, mut peer) = pair();
        let parts: [&[u8]; 5] = [b"", b"head ", b"", b"body", b"\r\n"];
        write_all(&mut ours, &parts, &mut Deadline::after(SHORT)).unwrap();
        write_all(&mut ours, &[], &mut Deadline::after(SHORT)).unwrap();
        drop(ours);
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"head body\r\n");
    }

    #[test]
    fn write_all_goes_on_after_partial_writes_as_the_peer_reads() {
        let (mut ours, mut peer) = pair();
        // Far more than a socket buffer, in parts of uneven sizes, and more parts than one
        // writev takes.
        let parts: Vec<Vec<u8>> = (0..12u8)
            .map(|i| vec![b'a' + i; 100_000 + usize::from(i) * 7919])
            .collect();
        let want: Vec<u8> = parts.concat();
        let reader = thread::spawn(move || {
            let mut got = Vec::new();
            peer.read_to_end(&mut got).unwrap();
            got
        });
        let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        write_all(
            &mut ours,
            &slices,
            &mut Deadline::after(Duration::from_secs(5)),
        )
        .unwrap();
        drop(ours);
        assert!(reader.join().unwrap() == want);
    }

    #[test]
    fn a_write_to_a_peer_that_reads_nothing_times_out() {
        let (mut ours, _peer) = pair();
        let big = vec![0u8; 8 << 20];
        let err = write_all(&mut ours, &[&big], &mut Deadline::after(SHORT)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn waits_end_when_a_socket_is_ready_or_at_the_deadline() {
        let (ours, mut peer) = pair();
        let (other, _other_peer) = pair();
        let fds = [ours.as_raw_fd(), other.as_raw_fd()];
        assert!(!wait_any_readable(&fds, Instant::now() + SHORT));
        peer.write_all(b"x").unwrap();
        assert!(wait_any_readable(&fds, Instant::now() + SHORT));
        wait_writable(ours.as_raw_fd(), &mut Deadline::after(SHORT)).unwrap();
    }
}
