"""Syslog transport of audit messages: RFC 5424 messages, RFC 5425 TLS with octet-counting framing.

PRI 85 (facility 10 security/authorization, severity 5 notice) and MSGID ``IHE+RFC-3881`` as the IHE ATNA
profile uses them; the MSG is a UTF-8 BOM and the XML. The server never sends application data, so a
readable socket before a write means the peer closed it: we reconnect instead of writing into a dead
connection (whose bytes the kernel would accept and lose).
"""

from __future__ import annotations

import os
import select
import socket
import ssl
from dataclasses import dataclass

from app.clock import utc_iso

PRI = 85
MSGID = "IHE+RFC-3881"
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class SyslogTarget:
    """The audit repository: TLS server, its CA, our client certificate (mutual TLS, PS3.15 B.9 style)."""

    host: str
    port: int
    ca_file: str
    cert_file: str | None = None
    key_file: str | None = None
    check_hostname: bool = True
    timeout_s: float = 10.0


def _nil(value: str, limit: int) -> str:
    text = "".join(c for c in value if 33 <= ord(c) <= 126)[:limit]
    return text or "-"


def frame(xml: bytes, *, hostname: str, app_name: str = "telerad", msgid: str = MSGID,
          timestamp: str | None = None) -> bytes:
    """One RFC 5425 frame: ``MSG-LEN SP SYSLOG-MSG`` with an RFC 5424 header and a BOM-prefixed MSG."""
    header = (f"<{PRI}>1 {timestamp or utc_iso()} {_nil(hostname, 255)} {_nil(app_name, 48)} "
              f"{os.getpid()} {_nil(msgid, 32)} - ")
    message = header.encode("ascii") + BOM + xml
    return str(len(message)).encode("ascii") + b" " + message


def client_context(target: SyslogTarget) -> ssl.SSLContext:
    """TLS 1.2+, trusting only the repository's CA; our certificate when configured."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(cafile=target.ca_file)
    ctx.check_hostname = target.check_hostname
    if target.cert_file:
        ctx.load_cert_chain(target.cert_file, target.key_file)
    return ctx


class SyslogConnection:
    """One TLS connection to the repository, opened on demand and reopened when the peer closed it."""

    def __init__(self, target: SyslogTarget) -> None:
        self.target = target
        self._context: ssl.SSLContext | None = None
        self._sock: ssl.SSLSocket | None = None

    def _open(self) -> ssl.SSLSocket:
        if self._context is None:
            self._context = client_context(self.target)
        raw = socket.create_connection((self.target.host, self.target.port), timeout=self.target.timeout_s)
        try:
            return self._context.wrap_socket(raw, server_hostname=self.target.host)
        except BaseException:
            raw.close()
            raise

    def _alive(self, sock: ssl.SSLSocket) -> bool:
        """False when the peer closed (EOF, close_notify, reset); TLS 1.3 session tickets keep it alive."""
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return True
        sock.setblocking(False)
        try:
            return sock.recv(1) != b""
        except ssl.SSLWantReadError:
            return True
        except (OSError, ssl.SSLError):
            return False
        finally:
            sock.settimeout(self.target.timeout_s)

    def send(self, frames: list[bytes]) -> None:
        """Write the frames (OSError/ssl.SSLError on failure: the caller keeps them spooled)."""
        if self._sock is not None and not self._alive(self._sock):
            self.close()
        if self._sock is None:
            self._sock = self._open()
        try:
            self._sock.sendall(b"".join(frames))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
