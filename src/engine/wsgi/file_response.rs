//! Zero-copy responses: a `wsgi.file_wrapper` around a regular file goes out with `sendfile(2)`
//! (Linux), the GIL released; anything else is iterated like any result.

use std::io;
use std::os::fd::RawFd;

use pyo3::prelude::*;

use crate::engine::net::sendfile::{send_some, FileSend};
use crate::engine::wsgi::callables::Shared;
use crate::util::FileWrapper;

/// The descriptor, offset and length of the regular file behind `result`, when `result` is an
/// exact `FileWrapper` whose file-like object has a descriptor.
pub fn regular_file(result: &Bound<'_, PyAny>) -> Option<(RawFd, u64, u64)> {
    let wrapper = result.cast_exact::<FileWrapper>().ok()?;
    let filelike = wrapper
        .borrow()
        .filelike
        .as_ref()?
        .clone_ref(result.py())
        .into_bound(result.py());
    if filelike.hasattr("encoding").unwrap_or(true) {
        return None; // a text file yields str, which must fail as in the stdlib
    }
    let fd: RawFd = filelike.call_method0("fileno").ok()?.extract().ok()?;
    // Whatever the file object buffered, its position is where the app left it.
    let offset: u64 = filelike.call_method0("tell").ok()?.extract().ok()?;
    let size = result.py().detach(|| {
        // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat only writes into the struct we pass, for a descriptor the file object
        // (kept alive by the caller's `result`) holds open.
        let ok = unsafe { libc::fstat(fd, &mut st) } == 0;
        (ok && (st.st_mode & libc::S_IFMT) == libc::S_IFREG).then_some(st.st_size)
    })?;
    let size = u64::try_from(size).ok()?;
    Some((fd, offset, size.saturating_sub(offset)))
}

/// Sends the head and then `len` bytes of `fd` from `offset`; on a connection of the event loop
/// the body is left to the loop (see `file_send`), to go out in turns with other connections'.
/// Releases the GIL.
pub fn send(py: Python<'_>, exchange: &Shared, fd: RawFd, offset: u64, len: u64) -> PyResult<()> {
    let exchange = exchange.clone();
    py.detach(move || -> io::Result<()> {
        let mut x = exchange.lock();
        let timeout = x.timeout();
        let Some((socket, count)) = x.start_file(len)? else {
            return Ok(());
        };
        if count > 0 && x.conn.as_ref().is_some_and(|c| c.loop_sends_files) {
            let file = FileSend::new(fd, offset, count).inspect_err(|_| x.broken = true)?;
            if let Some(conn) = x.conn.as_mut() {
                conn.file = Some(file);
            }
            return Ok(());
        }
        copy(socket, fd, offset, count, timeout).inspect_err(|_| x.broken = true)
    })
    .map_err(PyErr::from)
}

/// Sends `len` bytes of `fd` from `offset` at once, waiting for the socket as it fills (a
/// worker thread's file, or one sent outside the event loop). Call without the GIL.
fn copy(
    socket: RawFd,
    fd: RawFd,
    mut offset: u64,
    len: u64,
    timeout: std::time::Duration,
) -> io::Result<()> {
    let mut left = len;
    let mut deadline = crate::engine::net::io::Deadline::after(timeout);
    while left > 0 {
        match send_some(socket, fd, &mut offset, left)? {
            Some(sent) => left -= sent,
            None => crate::engine::net::io::wait_writable(socket, &mut deadline)?,
        }
    }
    Ok(())
}
