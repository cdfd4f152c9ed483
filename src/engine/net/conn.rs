//! A client connection: its socket, its peer, the bytes read from it but not yet used, and the
//! responses made but not yet written.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::net::io::{write_all, Deadline};
use crate::engine::net::peer::Peer;
use crate::engine::net::peer::PeerEnviron;
use crate::engine::net::sendfile::FileSend;
use crate::engine::net::stream::Stream;

/// The most buffer an idle connection keeps between requests.
const IDLE_CAPACITY: usize = 8 * 1024;

/// About the most response bytes a connection holds back in `out` (see [`Conn::holds`]): a
/// head's size is not counted ahead.
const OUT_LIMIT: usize = 16 * 1024;

pub struct Conn {
    pub stream: Stream,
    pub peer: Peer,
    /// Bytes read from the socket; `buf[pos..]` are not consumed yet (the rest of a request head,
    /// a body, pipelined requests).
    pub buf: Vec<u8>,
    pub pos: usize,
    /// When the connection last finished a request (or was accepted): the idle timeout counts
    /// from here.
    pub idle_since: Instant,
    /// When the first byte of a request head arrived that is still incomplete: the header
    /// deadline counts from here.
    pub head_since: Option<Instant>,
    /// REMOTE_ADDR and REMOTE_PORT as Python strings, made at the first request.
    pub remote: Option<PeerEnviron>,
    /// Whether a request has been answered on this connection: a graceful stop closes such a
    /// connection once it is idle, but gives a new one the time to send its first request.
    pub served: bool,
    /// Whole small responses made while the GIL was held, written later without it: by the
    /// event loop for every connection served in one round, or before anything else goes out.
    pub out: Vec<u8>,
    /// Set when the connection cannot carry another request: it closes once `out` is written.
    pub closing: bool,
    /// The buffer of the last response's status and headers, kept for the next response (see
    /// `StartedHead`).
    pub head_buffer: Vec<u8>,
    /// Set when the socket may hold bytes the event loop has not been told about: its reads
    /// stopped at a complete head before the socket was drained, or serving read the socket
    /// itself. Readiness is edge-triggered, so the loop reads such a connection again after
    /// serving it instead of waiting for an event that may not come.
    pub undrained: bool,
    /// Set on the event loop's connections: a file response's body is left to the loop, which
    /// sends it in turns with the other connections' (elsewhere it is sent at once).
    pub loop_sends_files: bool,
    /// The file response the loop is sending: no other request is served until it is done.
    pub file: Option<FileSend>,
    /// Whether the loop has asked for writable events on the socket (for `file`).
    pub watches_writable: bool,
    /// Set while the PROXY protocol header is still expected (`proxy_protocol`): it comes before
    /// the first request, and `peer` becomes the client it names.
    pub proxy_header: bool,
    /// Bytes read from the socket, and response bytes made for it (written, or put in `out`),
    /// not yet counted anywhere: a request takes them when it ends (see `metrics.rs`), and
    /// `tally` what is left when the connection closes. Counted only with a `tally`.
    pub received: u64,
    pub sent: u64,
    /// Where the bytes of a connection go that no request took (a refused head, a client that
    /// closed before its request); None: nobody counts.
    pub tally: Option<Arc<dyn Tally>>,
    /// Whether anything has been written, and whether TCP_NODELAY is set (see [`Conn::write`]).
    written: bool,
    nodelay: bool,
}

/// Counts what a closed connection's requests did not take of its bytes.
pub trait Tally: Send + Sync {
    fn closed(&self, received: u64, sent: u64);
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(tally) = &self.tally {
            if self.received != 0 || self.sent != 0 {
                tally.closed(self.received, self.sent);
            }
        }
    }
}

impl Conn {
    /// Marks a request answered on the connection just now: the idle timeout counts from `now`,
    /// and a graceful stop may close it once it is idle.
    pub fn answered(&mut self, now: Instant) {
        self.served = true;
        self.idle_since = now;
    }

    /// A connection on the heap: it moves between the event loop, a request and a worker
    /// thread, and a pointer moves cheaper than the whole of it.
    pub fn new(stream: Stream, peer: Peer) -> Box<Self> {
        Box::new(Conn {
            stream,
            peer,
            buf: Vec::new(),
            pos: 0,
            idle_since: Instant::now(),
            head_since: None,
            remote: None,
            served: false,
            out: Vec::new(),
            closing: false,
            head_buffer: Vec::new(),
            loop_sends_files: false,
            file: None,
            watches_writable: false,
            proxy_header: false,
            undrained: false,
            received: 0,
            sent: 0,
            tally: None,
            written: false,
            nodelay: false,
        })
    }

    /// Whether a body of `len` bytes (with its head) may wait in `out` to be written later.
    pub fn holds(&self, len: usize) -> bool {
        self.out.len() + len <= OUT_LIMIT
    }

    /// Turns Nagle's algorithm off from the connection's second write on: a write that follows
    /// another must not wait for the ACK of the first. Like nginx, a connection that carries one
    /// whole response in one write (`Connection: close`) never pays the syscall. Call without
    /// the GIL.
    pub fn before_next_write(&mut self) {
        if self.written && !self.nodelay {
            self.stream.set_nodelay();
            self.nodelay = true;
        }
        self.written = true;
    }

    /// Writes what `out` holds, then `parts`, in order and in as few syscalls as the kernel
    /// allows. Call without the GIL.
    pub fn write(&mut self, parts: &[&[u8]], mut deadline: Deadline) -> io::Result<()> {
        self.before_next_write();
        // What `out` holds was counted as it went in.
        self.sent += parts.iter().map(|p| p.len() as u64).sum::<u64>();
        let written = match parts.len() {
            _ if self.out.is_empty() => write_all(&mut self.stream, parts, &mut deadline),
            n if n < 5 => {
                let mut all: [&[u8]; 5] = [&[]; 5];
                all[0] = &self.out;
                all[1..=n].copy_from_slice(parts);
                write_all(&mut self.stream, &all[..=n], &mut deadline)
            }
            _ => write_all(&mut self.stream, &[&self.out], &mut deadline)
                .and_then(|()| write_all(&mut self.stream, parts, &mut deadline)),
        };
        self.out.clear();
        written
    }

    /// Writes the responses held in `out`; the connection back when it can carry another
    /// request, else None (it is closed). Call without the GIL.
    pub fn send_out(mut self: Box<Self>, timeout: Duration) -> Option<Box<Self>> {
        if !self.out.is_empty() && self.write(&[], Deadline::after(timeout)).is_err() {
            return None;
        }
        // A closing connection still has its file to send before it is closed.
        (!self.closing || self.file.is_some()).then_some(self)
    }

    /// On a TLS connection whose PROXY protocol header is taken off, the handshake begins with
    /// the bytes read after the header; nothing on a plain connection. Call without the GIL.
    pub fn start_tls(&mut self) -> io::Result<()> {
        if self.stream.tls().is_none() {
            return Ok(());
        }
        let early = self.pending().to_vec();
        self.consume(early.len());
        match &mut self.stream {
            Stream::Tls(tls) => tls.start(&early),
            _ => Ok(()),
        }
    }

    /// The bytes read and made since they were last taken, zeroed.
    pub fn take_counts(&mut self) -> (u64, u64) {
        (
            std::mem::take(&mut self.received),
            std::mem::take(&mut self.sent),
        )
    }

    /// The bytes not consumed yet.
    pub fn pending(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// Marks `n` more bytes as consumed, dropping consumed bytes once nothing is left after them
    /// (or once they are most of the buffer), so the buffer does not grow with the connection's
    /// age.
    pub fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
        if self.pos == self.buf.len() {
            if self.buf.capacity() > IDLE_CAPACITY {
                // A large body went through: an idle connection keeps no more than a head's room.
                self.buf = Vec::new();
            } else {
                self.buf.clear();
            }
            self.pos = 0;
        } else if self.pos > 64 * 1024 && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }
}

/// Connections over socket pairs, for the engine's tests.
#[cfg(test)]
pub mod testing {
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    use super::Conn;
    use crate::engine::net::peer::Peer;
    use crate::engine::net::stream::Stream;

    /// A connection over one end of a Unix socket pair, and the other end, blocking, as its
    /// client.
    pub fn pair() -> (Box<Conn>, UnixStream) {
        let (ours, theirs) = UnixStream::pair().expect("a socket pair");
        ours.set_nonblocking(true).expect("non-blocking");
        let ours = mio::net::UnixStream::from_std(ours);
        (Conn::new(Stream::Unix(ours), Peer::Unix), theirs)
    }

    /// What the client has been sent so far, without waiting for more.
    pub fn received(client: &mut UnixStream) -> Vec<u8> {
        client.set_nonblocking(true).expect("non-blocking");
        let mut got = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match client.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("reading what the client was sent: {e}"),
            }
        }
        client.set_nonblocking(false).expect("blocking");
        got
    }
}

#[cfg(test)]
mod tests {

    use super::testing::{pair, received};
    use super::*;
    use crate::engine::net::peer::Peer;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn pending_and_consume() {
        let (mut conn, _client) = pair();
        conn.buf.extend_from_slice(b"GET / HTTP/1.1\r\n\r\nbody");
        conn.consume(18);
        assert_eq!(conn.pending(), b"body");
        conn.consume(2);
        assert_eq!(conn.pending(), b"dy");
        // Past the end: all of it, and the buffer starts afresh.
        conn.consume(100);
        assert_eq!(conn.pending(), b"");
        assert_eq!((conn.pos, conn.buf.len()), (0, 0));
        assert!(conn.buf.capacity() > 0, "a small buffer is kept");
    }

    #[test]
    fn a_large_buffer_is_dropped_once_consumed_and_compacted_when_mostly_consumed() {
        let (mut conn, _client) = pair();
        conn.buf = vec![b'x'; 200 * 1024];
        conn.consume(150 * 1024);
        // Most of the buffer consumed: what is left moves to its start.
        assert_eq!((conn.pos, conn.pending().len()), (0, 50 * 1024));
        conn.consume(50 * 1024);
        assert_eq!(
            conn.buf.capacity(),
            0,
            "an idle connection keeps no large buffer"
        );
        conn.buf = vec![b'y'; 100 * 1024];
        conn.consume(10 * 1024);
        assert_eq!(conn.pos, 10 * 1024, "a little consumed: nothing moves");
    }

    #[test]
    fn holds_counts_what_out_already_holds() {
        let (mut conn, _client) = pair();
        assert!(conn.holds(OUT_LIMIT));
        assert!(!conn.holds(OUT_LIMIT + 1));
        conn.out = vec![0; 10 * 1024];
        assert!(conn.holds(OUT_LIMIT - 10 * 1024));
        assert!(!conn.holds(OUT_LIMIT - 10 * 1024 + 1));
    }

    #[test]
    fn write_sends_out_first_then_the_parts_in_order() {
        let (mut conn, mut client) = pair();
        // Up to four parts go in one writev with `out`; more take two writes.
        for parts in [
            &[&b"a"[..], b"", b"bc"][..],
            &[&b"a"[..], b"b", b"c", b"d", b"e", b"f"][..],
        ] {
            conn.out = b"held ".to_vec();
            conn.write(parts, Deadline::after(SECOND)).unwrap();
            assert!(conn.out.is_empty());
            let mut want = b"held ".to_vec();
            parts.iter().for_each(|p| want.extend_from_slice(p));
            assert_eq!(received(&mut client), want);
        }
        conn.write(&[b"only"], Deadline::after(SECOND)).unwrap();
        assert_eq!(received(&mut client), b"only");
    }

    #[test]
    fn send_out_writes_what_is_held_and_keeps_the_connection_unless_closing() {
        let (mut conn, mut client) = pair();
        conn.out = b"response".to_vec();
        let mut conn = conn.send_out(SECOND).expect("kept");
        assert_eq!(received(&mut client), b"response");
        conn.closing = true;
        conn.out = b"last".to_vec();
        assert!(conn.send_out(SECOND).is_none());
        assert_eq!(received(&mut client), b"last");
    }

    #[test]
    fn send_out_to_a_client_gone_closes() {
        let (mut conn, client) = pair();
        drop(client);
        conn.out = b"response".to_vec();
        assert!(conn.send_out(SECOND).is_none());
    }

    #[test]
    fn answered_marks_the_connection_served_now() {
        let (mut conn, _client) = pair();
        assert!(!conn.served);
        let now = Instant::now() + SECOND;
        conn.answered(now);
        assert!(conn.served);
        assert_eq!(conn.idle_since, now);
    }

    #[test]
    fn nagle_is_turned_off_from_the_second_write_on() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (ours, peer) = listener.accept().unwrap();
        ours.set_nonblocking(true).unwrap();
        let stream = Stream::Tcp(mio::net::TcpStream::from_std(ours));
        let mut conn = Conn::new(stream, Peer::Ip(peer));
        conn.write(&[b"one"], Deadline::after(SECOND)).unwrap();
        assert!(
            !conn.stream.nodelay(),
            "one whole response never pays the syscall"
        );
        conn.write(&[b"two"], Deadline::after(SECOND)).unwrap();
        assert!(conn.stream.nodelay());
        let mut got = [0u8; 6];
        std::io::Read::read_exact(&mut client, &mut got).unwrap();
        assert_eq!(&got, b"onetwo");
    }
}
