//! A file response the event loop sends in turns: `sendfile(2)` until the socket is full or a
//! turn's share is sent, then the other connections have theirs. One thread can so feed many
//! downloads at once, as nginx does, and a slow reader never holds the loop.

use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Instant;

use crate::engine::net::stream::Stream;

/// The most one turn sends before the loop moves on (as nginx's `sendfile_max_chunk`): at a
/// few GB/s, the other connections wait a fraction of a millisecond for theirs. Measured with
/// four 64 MiB downloads on loopback, 512 KiB costs the server no more CPU per file than 2 MiB
/// and shares the loop four times as finely.
const TURN: u64 = 512 << 10;

/// What a turn came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// The whole file is sent.
    Done,
    /// The socket is full: go on once it is writable.
    Full,
    /// The turn's share is sent and the socket has room: go on in the loop's next round.
    Turn,
}

/// The part of a file still to be sent on a connection.
pub struct FileSend {
    /// The loop's own descriptor of the file: the application may close its file object as
    /// soon as its request is over.
    file: OwnedFd,
    offset: u64,
    left: u64,
    /// When the last bytes went out: a client that takes nothing for the server's timeout is
    /// dropped.
    pub progress_at: Instant,
}

impl FileSend {
    /// `left` bytes of `fd` from `offset`, on a descriptor of the loop's own.
    pub fn new(fd: RawFd, offset: u64, left: u64) -> io::Result<Self> {
        // SAFETY: duplicating a descriptor the caller holds open; the copy is ours alone.
        let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if copy < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(FileSend {
            // SAFETY: a descriptor just made, owned by nothing else.
            file: unsafe { OwnedFd::from_raw_fd(copy) },
            offset,
            left,
            progress_at: Instant::now(),
        })
    }

    /// Sends what the socket takes of the next turn's share. Call without the GIL.
    pub fn advance(&mut self, stream: &mut Stream) -> io::Result<Progress> {
        let mut turn = TURN.min(self.left);
        while turn > 0 {
            let sent = send_some_to(stream, self.file.as_raw_fd(), &mut self.offset, turn)?;
            match sent {
                None => return Ok(Progress::Full),
                Some(n) => {
                    self.progress_at = Instant::now();
                    turn -= n;
                    self.left -= n;
                }
            }
        }
        if self.left > 0 {
            return Ok(Progress::Turn);
        }
        // A TLS connection may hold the last records still.
        match stream.flush() {
            Ok(()) => Ok(Progress::Done),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Progress::Full),
            Err(e) => Err(e),
        }
    }
}

/// [`send_some`] on a client's stream: `sendfile(2)` on a plain socket; through rustls, which
/// must see every byte to encrypt it, on a TLS connection (one `pread` into a buffer each
/// thread keeps, then a write). Call without the GIL.
pub fn send_some_to(
    stream: &mut Stream,
    file: RawFd,
    offset: &mut u64,
    len: u64,
) -> io::Result<Option<u64>> {
    if !matches!(stream, Stream::Tls(_)) {
        return send_some(stream.as_raw_fd(), file, offset, len);
    }
    const PIECE: usize = 64 * 1024;
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; PIECE]);
    }
    let off =
        libc::off_t::try_from(*offset).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let want = usize::try_from(len).map_or(PIECE, |n| n.min(PIECE));
    BUF.with_borrow_mut(|buf| {
        let got = loop {
            // SAFETY: `buf` has room for `want` (<= PIECE) bytes; the descriptor is open.
            let got = unsafe { libc::pread(file, buf.as_mut_ptr().cast(), want, off) };
            match usize::try_from(got) {
                Ok(n) => break n,
                Err(_) if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(io::Error::last_os_error()),
            }
        };
        if got == 0 {
            return Err(file_ended());
        }
        match stream.write(&buf[..got]) {
            Ok(n) => {
                *offset += n as u64;
                Ok(Some(n as u64))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(Some(0)),
            Err(e) => Err(e),
        }
    })
}

/// One `sendfile(2)` of up to `len` bytes of `file` from `offset` (moved on by what went): the
/// count sent, or None when the socket is full. The step both the loop's turns and a worker's
/// blocking copy (`sendfile::copy`) take. Call without the GIL.
pub fn send_some(
    socket: RawFd,
    file: RawFd,
    offset: &mut u64,
    len: u64,
) -> io::Result<Option<u64>> {
    let off =
        libc::off_t::try_from(*offset).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let count = usize::try_from(len.min(1 << 30)).unwrap_or(1 << 30);
    loop {
        match copy_once(socket, file, off, count) {
            Ok(0) => return Err(file_ended()),
            Ok(sent) => {
                *offset += sent as u64;
                return Ok(Some(sent as u64));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Copies up to `count` bytes of `file` from `off` into `socket` with `sendfile(2)`: the count
/// (0 when the file has no byte there).
#[cfg(target_os = "linux")]
fn copy_once(socket: RawFd, file: RawFd, off: libc::off_t, count: usize) -> io::Result<usize> {
    let mut off = off;
    // SAFETY: both descriptors are open for the duration of the call; `off` is ours.
    let sent = unsafe { libc::sendfile(socket, file, &mut off, count) };
    usize::try_from(sent).map_err(|_| io::Error::last_os_error())
}

/// Where there is no Linux `sendfile(2)`: one `pread` and one `write` of up to `count` bytes,
/// through a buffer each thread keeps. The count written (0 when the file has no byte there).
#[cfg(not(target_os = "linux"))]
fn copy_once(socket: RawFd, file: RawFd, off: libc::off_t, count: usize) -> io::Result<usize> {
    use std::cell::RefCell;
    const BUFFER: usize = 256 * 1024;
    thread_local! {
        static BUF: RefCell<Vec<u8>> = RefCell::new(vec![0u8; BUFFER]);
    }
    let want = count.min(BUFFER);
    BUF.with_borrow_mut(|buf| {
        // SAFETY: `buf` has room for `want` bytes; the descriptor is open.
        let got = unsafe { libc::pread(file, buf.as_mut_ptr().cast(), want, off) };
        let got = usize::try_from(got).map_err(|_| io::Error::last_os_error())?;
        if got == 0 {
            return Ok(0);
        }
        // SAFETY: the first `got` bytes of `buf` are initialised; the socket is open.
        let n = unsafe { libc::write(socket, buf.as_ptr().cast(), got) };
        match usize::try_from(n) {
            Ok(0) => Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => Ok(n),
            Err(_) => Err(io::Error::last_os_error()),
        }
    })
}

fn file_ended() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "the file ended early")
}

#[cfg(test)]
mod tests {
    use super::{FileSend, Progress};
    use crate::engine::net::stream::Stream;
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    /// Our end of a socket pair as the engine holds it.
    fn ours(sock: UnixStream) -> Stream {
        sock.set_nonblocking(true).expect("non-blocking");
        Stream::Unix(mio::net::UnixStream::from_std(sock))
    }

    /// A file of `len` bytes that are not all alike, and its bytes.
    fn data_file(len: usize) -> (std::fs::File, Vec<u8>) {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let path = std::env::temp_dir().join(format!("file_send-{}-{len}", std::process::id()));
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(&data))
            .expect("a scratch file");
        let file = std::fs::File::open(&path).expect("the scratch file");
        let _ = std::fs::remove_file(&path);
        (file, data)
    }

    #[test]
    fn a_file_goes_out_in_turns_and_waits_when_the_socket_is_full() {
        let (file, data) = data_file(3 << 20);
        let (sock, mut theirs) = UnixStream::pair().expect("a socket pair");
        let mut ours = ours(sock);
        let mut sending =
            FileSend::new(file.as_raw_fd(), 100, data.len() as u64 - 100).expect("a file to send");
        drop(file); // the send keeps a descriptor of its own
        let mut received = Vec::new();
        let mut full = 0;
        loop {
            match sending.advance(&mut ours).expect("a turn") {
                Progress::Done => break,
                Progress::Full => full += 1,
                Progress::Turn => continue,
            }
            let mut buf = vec![0; 1 << 20];
            let n = theirs.read(&mut buf).expect("the bytes sent");
            received.extend_from_slice(&buf[..n]);
        }
        drop(ours);
        theirs.read_to_end(&mut received).expect("the rest");
        assert!(full > 0, "a reader that does not keep up fills the socket");
        assert_eq!(received, data[100..]);
    }

    #[test]
    fn a_file_shorter_than_announced_is_an_error() {
        let (file, _) = data_file(1000);
        let (sock, _theirs) = UnixStream::pair().expect("a socket pair");
        let mut ours = ours(sock);
        let mut sending = FileSend::new(file.as_raw_fd(), 0, 2000).expect("a file to send");
        let err = sending.advance(&mut ours).expect_err("the file ends early");
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
