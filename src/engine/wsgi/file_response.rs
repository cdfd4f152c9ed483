//! Zero-copy responses: a `wsgi.file_wrapper` around a regular file goes out with `sendfile(2)`
//! (Linux), the GIL released; anything else is iterated like any result. Over TLS the file's
//! bytes go through rustls (read into a buffer, encrypted, written): not zero-copy there.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use pyo3::prelude::*;

use crate::engine::net::io::{flush, wait_writable, Deadline};
use crate::engine::net::sendfile::{send_some_to, FileSend};
use crate::engine::net::stream::Stream;
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
/// the body is left to the loop (see `net/sendfile.rs`), to go out in turns with other connections'.
/// Releases the GIL.
pub fn send(py: Python<'_>, exchange: &Shared, fd: RawFd, offset: u64, len: u64) -> PyResult<()> {
    let exchange = exchange.clone();
    py.detach(move || -> io::Result<()> {
        let mut x = exchange.lock();
        let timeout = x.timeout();
        let Some(count) = x.start_file(len)? else {
            return Ok(());
        };
        if count > 0 && x.conn.as_ref().is_some_and(|c| c.loop_sends_files) {
            let file = FileSend::new(fd, offset, count).inspect_err(|_| x.broken = true)?;
            if let Some(conn) = x.conn.as_mut() {
                conn.file = Some(file);
            }
            return Ok(());
        }
        let Some(conn) = x.conn.as_mut() else {
            return Ok(());
        };
        copy(&mut conn.stream, fd, offset, count, timeout).inspect_err(|_| x.broken = true)
    })
    .map_err(PyErr::from)
}

/// Sends `len` bytes of `fd` from `offset` at once, waiting for the socket as it fills (a
/// worker thread's file, or one sent outside the event loop). Call without the GIL.
fn copy(
    stream: &mut Stream,
    fd: RawFd,
    mut offset: u64,
    len: u64,
    timeout: std::time::Duration,
) -> io::Result<()> {
    let mut left = len;
    let mut deadline = Deadline::after(timeout);
    while left > 0 {
        match send_some_to(stream, fd, &mut offset, left)? {
            Some(sent) => left -= sent,
            None => wait_writable(stream.as_raw_fd(), &mut deadline)?,
        }
    }
    flush(stream, &mut deadline)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use parking_lot::Mutex;
    use pyo3::types::PyDict;

    use super::*;
    use crate::engine::wsgi::exchange::testing::{exchange, wire};
    use crate::engine::wsgi::settings::testing::with_python;

    /// A file of `len` bytes for the test `name`, and its bytes.
    fn data_file(name: &str, len: usize) -> (std::path::PathBuf, Vec<u8>) {
        let bytes: Vec<u8> = (0..len).map(|n| (n % 253) as u8).collect();
        let path =
            std::env::temp_dir().join(format!("wsgiref-rs-{}-{name}.bin", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        (path, bytes)
    }

    /// What the Python `expression` gives, with `path` (a str) and `FileWrapper` in scope.
    fn eval<'py>(
        py: Python<'py>,
        expression: &std::ffi::CStr,
        path: &std::path::Path,
    ) -> Bound<'py, PyAny> {
        let globals = PyDict::new(py);
        globals.set_item("path", path.to_str().unwrap()).unwrap();
        globals
            .set_item("FileWrapper", py.get_type::<FileWrapper>())
            .unwrap();
        py.eval(expression, Some(&globals), None).unwrap()
    }

    #[test]
    fn a_file_wrapper_around_a_regular_binary_file_goes_out_with_sendfile() {
        with_python(|py| {
            let (path, _) = data_file("regular", 1000);
            let wrapper = eval(
                py,
                c"(lambda f: (f.read(10), FileWrapper(f))[1])(open(path, 'rb'))",
                &path,
            );
            let fd: RawFd = wrapper
                .getattr("filelike")
                .and_then(|f| f.call_method0("fileno"))
                .and_then(|n| n.extract())
                .unwrap();
            assert_eq!(
                regular_file(&wrapper),
                Some((fd, 10, 990)),
                "from where the app left it"
            );
            for other in [
                c"FileWrapper(open(path, 'r'))",
                c"FileWrapper(__import__('io').BytesIO(b'bytes'))",
                c"FileWrapper(open(__import__('os').pipe()[0], 'rb'))",
                c"type('Mine', (FileWrapper,), {})(open(path, 'rb'))",
                c"[open(path, 'rb').read()]",
            ] {
                let result = eval(py, other, &path);
                assert_eq!(regular_file(&result), None, "{other:?}");
            }
            std::fs::remove_file(&path).unwrap();
        });
    }

    #[test]
    fn send_writes_the_head_then_the_file_from_its_offset() {
        with_python(|py| {
            let (path, bytes) = data_file("send", 5000);
            let file = std::fs::File::open(&path).unwrap();
            let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
            let (mut x, mut client) = exchange(py, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            x.response.head.begin("200 OK");
            x.response.head.push("Date", "today");
            let shared = Arc::new(Mutex::new(x));
            send(py, &shared, fd, 1000, 4000).unwrap();
            let mut want = b"HTTP/1.1 200 OK\r\nServer: test-server/1\r\nDate: today\r\n\
                Content-Length: 4000\r\n\r\n"
                .to_vec();
            want.extend_from_slice(&bytes[1000..]);
            assert!(wire(&mut shared.lock(), &mut client) == want);
            std::fs::remove_file(&path).unwrap();
        });
    }

    #[test]
    fn on_the_loops_connections_the_file_is_left_to_the_loop() {
        with_python(|py| {
            let (path, _) = data_file("loop", 3000);
            let file = std::fs::File::open(&path).unwrap();
            let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
            let (mut x, mut client) = exchange(py, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            x.conn.as_mut().unwrap().loop_sends_files = true;
            x.response.head.begin("200 OK");
            let shared = Arc::new(Mutex::new(x));
            send(py, &shared, fd, 0, 3000).unwrap();
            let mut x = shared.lock();
            assert!(x.conn.as_ref().unwrap().file.is_some());
            let got = wire(&mut x, &mut client);
            assert!(
                got.ends_with(b"Content-Length: 3000\r\n\r\n"),
                "the head alone: {got:?}"
            );
            // A HEAD request: no file at all.
            let (mut x, mut client) = exchange(py, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
            x.conn.as_mut().unwrap().loop_sends_files = true;
            x.response.head.begin("200 OK");
            let shared = Arc::new(Mutex::new(x));
            send(py, &shared, fd, 0, 3000).unwrap();
            let mut x = shared.lock();
            assert!(x.conn.as_ref().unwrap().file.is_none());
            assert!(wire(&mut x, &mut client).ends_with(b"Content-Length: 3000\r\n\r\n"));
            std::fs::remove_file(&path).unwrap();
        });
    }
}
