"""TLS contexts for DICOM (PS3.15 B.9 / BCP 195): TLS 1.2 or newer, CA-pinned, client certificates."""

from __future__ import annotations

import ssl

from app.network.nodes import NodeError, TlsSettings


def client_context(tls: TlsSettings) -> ssl.SSLContext:
    """Context for our SCU: trusts only ``ca_file`` (not the system store), sends our certificate."""
    if not tls.ca_file:
        raise NodeError("TLS needs ca_file: the CA that signed the peer's certificate")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(cafile=tls.ca_file)
    ctx.check_hostname = tls.check_hostname
    ctx.verify_mode = ssl.CERT_REQUIRED
    if tls.cert_file:
        ctx.load_cert_chain(tls.cert_file, tls.key_file)
    return ctx


def server_context(tls: TlsSettings) -> ssl.SSLContext:
    """Context for our Storage SCP: our certificate; client certificates required from ``ca_file``."""
    if not (tls.cert_file and tls.key_file and tls.ca_file):
        raise NodeError("a TLS listener needs cert_file, key_file and ca_file (for client certificates)")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(tls.cert_file, tls.key_file)
    ctx.load_verify_locations(cafile=tls.ca_file)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx
