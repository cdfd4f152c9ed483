//! TLS on a client's connection, with rustls: the server's certificate and key (and the CAs that
//! sign client certificates) read from PEM files, and a [`TlsStream`] that reads and writes
//! plaintext over a non-blocking socket as the other streams do.
//!
//! The handshake happens inside the first reads, so the event loop needs nothing new: it reads a
//! TLS connection when it is readable, and gets request bytes once the handshake is done (until
//! then, `WouldBlock`). The caller bounds the handshake with its header timeout.
//!
//! Writes hand plaintext to rustls, which encrypts it into records that go out at once as far as
//! the socket takes them; what the socket did not take yet goes before anything else, and a
//! writer ends with `flush()` (see `io::write_all`), which waits until none is left. Everything
//! here is plain socket and file I/O, for callers that hold no GIL.

use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection};

use crate::engine::net::stream::Stream;

/// Whether clients must show a certificate (`--cert-reqs`, the values of Python's
/// `ssl.CERT_NONE`, `CERT_OPTIONAL` and `CERT_REQUIRED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertReqs {
    /// No certificate is asked for.
    None,
    /// One is asked for, and checked against the CAs when given; a client may send none.
    Optional,
    /// A client without a certificate signed by one of the CAs fails the handshake.
    Required,
}

impl CertReqs {
    /// From `ssl.CERT_NONE` (0), `CERT_OPTIONAL` (1) or `CERT_REQUIRED` (2).
    pub fn from_number(n: u8) -> Option<CertReqs> {
        match n {
            0 => Some(CertReqs::None),
            1 => Some(CertReqs::Optional),
            2 => Some(CertReqs::Required),
            _ => None,
        }
    }
}

/// Where the server's TLS settings are read from; read again by [`Tls::reload`].
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub certfile: PathBuf,
    pub keyfile: PathBuf,
    pub ca_certs: Option<PathBuf>,
    pub cert_reqs: CertReqs,
}

/// Why the TLS settings could not be made: one line that names the file.
#[derive(Debug)]
pub struct TlsError(String);

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn error(path: &Path, what: impl fmt::Display) -> TlsError {
    TlsError(format!("{}: {what}", path.display()))
}

fn read_text(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| error(path, format_args!("cannot read it ({e})")))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_text(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(path, format_args!("not a PEM certificate file ({e})")))?;
    if certs.is_empty() {
        return Err(error(path, "holds no PEM certificate"));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read_text(path)?;
    let encrypted = |marker: &[u8]| pem.windows(marker.len()).any(|w| w == marker);
    if encrypted(b"-----BEGIN ENCRYPTED PRIVATE KEY-----") || encrypted(b"Proc-Type: 4,ENCRYPTED") {
        return Err(error(
            path,
            "the private key is encrypted; give the key without its passphrase (for example \
             `openssl pkey -in KEY -out KEY.plain`) and keep the file readable by the server only",
        ));
    }
    PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| error(path, format_args!("holds no PEM private key ({e})")))
}

impl TlsFiles {
    /// Reads the files and makes the server's TLS settings: TLS 1.3 and 1.2, ALPN `http/1.1`.
    pub fn load(&self) -> Result<Arc<ServerConfig>, TlsError> {
        // ring's primitives build with a C compiler alone (aws-lc-rs, rustls' default, needs
        // cmake); rustls deprecates them for want of post-quantum key exchange, which only
        // aws-lc-rs has.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs = certificates(&self.certfile)?;
        let key = private_key(&self.keyfile)?;
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError(format!("TLS settings: {e}")))?;
        let builder = match (&self.ca_certs, self.cert_reqs) {
            (_, CertReqs::None) => builder.with_no_client_auth(),
            (None, _) => {
                return Err(TlsError(
                    "--cert-reqs optional or required needs --ca-certs: the CAs that sign the \
                     clients' certificates"
                        .into(),
                ))
            }
            (Some(ca_path), reqs) => {
                let mut roots = RootCertStore::empty();
                for cert in certificates(ca_path)? {
                    roots
                        .add(cert)
                        .map_err(|e| error(ca_path, format_args!("not a CA certificate ({e})")))?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider);
                let verifier = match reqs {
                    CertReqs::Optional => verifier.allow_unauthenticated(),
                    _ => verifier,
                };
                let verifier = verifier
                    .build()
                    .map_err(|e| error(ca_path, format_args!("no usable CA ({e})")))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_single_cert(certs, key).map_err(|e| {
            error(
                &self.keyfile,
                format_args!("the key does not go with {}: {e}", self.certfile.display()),
            )
        })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A server's TLS settings, made from its files and made again from them by [`Tls::reload`]:
/// connections accepted from then on use the new ones, those open keep theirs.
pub struct Tls {
    files: TlsFiles,
    current: RwLock<Arc<ServerConfig>>,
}

impl Tls {
    pub fn new(files: TlsFiles) -> Result<Tls, TlsError> {
        let current = RwLock::new(files.load()?);
        Ok(Tls { files, current })
    }

    /// The settings a connection accepted now starts with.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.current.read().clone()
    }

    /// Reads the files again (a renewed certificate); on an error the settings stay as they were.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = self.files.load()?;
        *self.current.write() = fresh;
        Ok(())
    }
}

/// What a client that speaks plain HTTP to the TLS port is answered, as nginx does, before the
/// connection closes.
const PLAIN_HTTP_ANSWER: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\
Content-Length: 47\r\nConnection: close\r\n\r\nThe plain HTTP request was sent to HTTPS port.\n";

/// A TLS connection over a client's socket.
pub struct TlsStream {
    sock: Stream,
    tls: ServerConnection,
    /// Set while the bytes are still plain (a PROXY protocol header comes before the handshake).
    raw: bool,
    /// Set until the first byte has been looked at (a client speaking plain HTTP).
    first: bool,
}

impl TlsStream {
    /// A TLS connection on `sock`, plain until [`start`](Self::start) when `raw`.
    pub fn new(sock: Stream, config: Arc<ServerConfig>, raw: bool) -> io::Result<TlsStream> {
        let tls = ServerConnection::new(config).map_err(io::Error::other)?;
        Ok(TlsStream {
            sock,
            tls,
            raw,
            first: true,
        })
    }

    /// The handshake begins: `early` are the bytes of it already read as plain bytes.
    pub fn start(&mut self, early: &[u8]) -> io::Result<()> {
        self.raw = false;
        if early.is_empty() {
            return Ok(());
        }
        self.first = false;
        let mut rest = early;
        while !rest.is_empty() {
            self.tls.read_tls(&mut rest)?;
            self.process()?;
        }
        match self.flush_records() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(()),
        }
    }

    pub fn sock(&self) -> &Stream {
        &self.sock
    }

    pub fn sock_mut(&mut self) -> &mut Stream {
        &mut self.sock
    }

    /// Whether the handshake is still going on.
    pub fn handshaking(&self) -> bool {
        self.raw || self.tls.is_handshaking()
    }

    /// The client certificate's subject, as RFC 4514 writes a distinguished name; None when the
    /// client sent no certificate.
    pub fn client_subject(&self) -> Option<String> {
        let der = self.tls.peer_certificates()?.first()?;
        crate::engine::net::tls_subject::subject(der.as_ref())
    }

    /// Writes the records rustls has ready: `WouldBlock` when the socket took not all of them.
    fn flush_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            self.tls.write_tls(&mut self.sock)?;
        }
        Ok(())
    }

    /// Decrypts what was read; a client that broke the protocol gets its alert before the error.
    fn process(&mut self) -> io::Result<()> {
        if let Err(e) = self.tls.process_new_packets() {
            let _ = self.flush_records();
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        Ok(())
    }

    /// A client speaking plain HTTP gets a 400 and an error: true when the first byte, which a
    /// TLS client makes 0x16 (a handshake record), is that of an HTTP method.
    fn refuse_plain_http(&mut self) -> io::Result<bool> {
        let mut byte = 0u8;
        // SAFETY: one byte of writable memory, ours; the descriptor is open.
        let n = unsafe {
            libc::recv(
                self.sock.as_raw_fd(),
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        self.first = n == 0;
        if n == 1 && byte.is_ascii_uppercase() {
            let _ = self.sock.write(PLAIN_HTTP_ANSWER);
            return Ok(true);
        }
        Ok(false)
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.raw {
            return self.sock.read(buf);
        }
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                // Closed without close_notify: an end of stream all the same for HTTP/1.1,
                // whose messages say their own length.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // The handshake's answers, and the rest of what was written before.
            match self.flush_records() {
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                _ => {}
            }
            if self.first && self.refuse_plain_http()? {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "plain HTTP sent to the TLS port (answered 400)",
                ));
            }
            if self.tls.read_tls(&mut self.sock)? == 0 {
                return Ok(0);
            }
            self.process()?;
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if self.raw {
            return self.sock.write_vectored(bufs);
        }
        // Records the socket has not taken yet go first: until then the caller waits.
        self.flush_records()?;
        let taken = self.tls.writer().write_vectored(bufs)?;
        if taken == 0 && bufs.iter().any(|b| !b.is_empty()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        match self.flush_records() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(taken),
        }
    }

    /// Writes every record rustls holds: `WouldBlock` until the socket has taken them all.
    fn flush(&mut self) -> io::Result<()> {
        if self.raw {
            return Ok(());
        }
        self.flush_records()
    }
}

impl Drop for TlsStream {
    /// Says close_notify, as far as the socket takes it without waiting.
    fn drop(&mut self) {
        if !self.handshaking() {
            self.tls.send_close_notify();
            let _ = self.flush_records();
        }
    }
}
