"""The listening sockets: TCP binds (IPv4, IPv6), Unix-domain sockets, inherited descriptors
(``--fd``) and systemd socket activation (``LISTEN_FDS``/``LISTEN_PID``).

A Unix socket file gets mode 0o666, as systemd gives socket units by default: who may connect is
decided by the directory it lives in (say ``/run/myapp/``, owned by the app's user and the proxy's
group, mode 0o750), the way a TCP port on loopback is open to every local user. A socket file left
behind by a process that died is replaced; one that a live server answers on is not.
"""

import errno
import os
import socket
import stat

from wsgiref_rs.server.config import DEFAULT_BIND, parse_bind

__all__ = ["ListenError", "Listener", "open_listeners", "systemd_fds"]

UDS_MODE = 0o666
SYSTEMD_FIRST_FD = 3


class ListenError(OSError):
    """A socket that could not be opened, with a one-line reason."""


class Listener:
    """One listening socket, its URL for the startup line, and whether its file is ours to
    remove."""

    def __init__(self, sock, created_file=None, owned=True):
        self.sock = sock
        self.family = sock.family
        # (path, st_dev, st_ino) of a socket file we created, or None.
        self.created_file = created_file
        # Bound by this server, not inherited (systemd's or --fd): ours to shut down.
        self.owned = owned
        self.url = _url(sock)

    def fileno(self):
        return self.sock.fileno()

    @property
    def is_unix(self):
        return self.family == socket.AF_UNIX

    def stop_accepting(self):
        """At the start of a stop: new connections are refused at once, in every process that
        shares the socket (those still in the listen queue are reset). An inherited socket is
        left alone: its owner (systemd) keeps it to queue connections for the next start."""
        if self.owned:
            try:
                self.sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass

    def close(self, remove_file=True):
        """Close the socket; remove its file if we created it and it is still that file."""
        self.sock.close()
        if remove_file and self.created_file is not None:
            path, dev, ino = self.created_file
            try:
                st = os.lstat(path)
                if (st.st_dev, st.st_ino) == (dev, ino):
                    os.unlink(path)
            except OSError:
                pass


def _url(sock):
    name = sock.getsockname()
    if sock.family == socket.AF_UNIX:
        if isinstance(name, bytes):
            name = name.decode("utf-8", "backslashreplace")
        return f"unix:{name}" if name else "unix:(unnamed)"
    host, port = name[:2]
    if sock.family == socket.AF_INET6:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def systemd_fds(environ=None):
    """The descriptors systemd passed to this process (3, 4, ...), or [] if none were passed to
    it; the variables are removed so that child processes do not take them for theirs."""
    environ = os.environ if environ is None else environ
    count, pid = environ.get("LISTEN_FDS"), environ.get("LISTEN_PID")
    if count is None or pid is None:
        return []
    try:
        if int(pid) != os.getpid():
            return []
        count = int(count)
    except ValueError:
        return []
    for name in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
        environ.pop(name, None)
    return list(range(SYSTEMD_FIRST_FD, SYSTEMD_FIRST_FD + max(0, count)))


def open_listeners(addresses, backlog, environ=None):
    """Listeners for every address, plus systemd's sockets; 127.0.0.1:8000 when there are none.
    Raises ListenError (having closed what it opened) when one cannot be had."""
    listeners = []
    try:
        for fd in systemd_fds(environ):
            listeners.append(_adopt(fd, f"systemd's fd {fd}"))
        if not addresses and not listeners:
            addresses = [parse_bind(DEFAULT_BIND)]
        for address in addresses:
            if address.kind == "tcp":
                listeners.append(_bind_tcp(address, backlog))
            elif address.kind == "unix":
                listeners.append(_bind_unix(address.path, backlog))
            else:
                listeners.append(_adopt(address.fd, f"--fd {address.fd}"))
    except BaseException:
        for listener in listeners:
            listener.close()
        raise
    return listeners


def _failed(where, e):
    reason = (e.strerror if isinstance(e, OSError) else None) or str(e)
    error = ListenError(f"cannot listen on {where}: {reason}")
    error.errno = getattr(e, "errno", None)
    return error


def _bind_tcp(address, backlog):
    try:
        infos = socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise _failed(address, e) from None
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(backlog)
    except OSError as e:
        sock.close()
        raise _failed(address, e) from None
    return Listener(sock)


def _bind_unix(path, backlog):
    where = f"unix:{path}"
    try:
        _remove_stale(path)
    except OSError as e:
        raise _failed(where, e) from None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        os.chmod(path, UDS_MODE)
        st = os.lstat(path)
        sock.listen(backlog)
    except OSError as e:
        sock.close()
        raise _failed(where, e) from None
    return Listener(sock, created_file=(path, st.st_dev, st.st_ino))


def _remove_stale(path):
    """Remove a socket file nobody answers on; refuse a live one or a file that is no socket."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise OSError(errno.EEXIST, "the path exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        os.unlink(path)  # left behind by a server that is gone
        return
    except OSError:
        pass  # a timeout: someone is there but slow
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE))


def _adopt(fd, where):
    """A socket for an inherited listening descriptor (we own it from here on)."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError as e:
        raise _failed(where, e) from None
    try:
        listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    except OSError as e:
        sock.detach()
        raise _failed(where, e) from None
    if sock.type != socket.SOCK_STREAM or not listening:
        sock.detach()
        raise ListenError(f"cannot listen on {where}: not a listening stream socket")
    if sock.family not in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX):
        sock.detach()
        raise ListenError(f"cannot listen on {where}: not an IP or Unix socket")
    return Listener(sock, owned=False)
