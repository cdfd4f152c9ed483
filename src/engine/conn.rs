//! A client connection: its socket, its peer, and the bytes read from it but not yet used.

use std::time::Instant;

use super::environ::Peer;
use super::stream::{ClientAddr, Stream};

/// The most buffer an idle connection keeps between requests.
const IDLE_CAPACITY: usize = 8 * 1024;

pub struct Conn {
    pub stream: Stream,
    pub peer: ClientAddr,
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
    pub remote: Option<Peer>,
    /// Whether a request has been answered on this connection: a graceful stop closes such a
    /// connection once it is idle, but gives a new one the time to send its first request.
    pub served: bool,
}

impl Conn {
    pub fn new(stream: Stream, peer: ClientAddr) -> Self {
        Conn {
            stream,
            peer,
            buf: Vec::new(),
            pos: 0,
            idle_since: Instant::now(),
            head_since: None,
            remote: None,
            served: false,
        }
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
