"""The keys of one data dir, each derived from its master key with HKDF-SHA256 (RFC 5869): one for the
SQLCipher databases, one that wraps the per-file keys, one for the few encrypted fields (the audit spool)."""

from __future__ import annotations

from dataclasses import dataclass, field

KEY_BYTES = 32


def _derive(master_key: bytes, purpose: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                info=f"telerad at-rest v1 {purpose}".encode()).derive(master_key)


@dataclass(frozen=True)
class DataKeys:
    """Derived keys (never in ``repr``). ``DataKeys.from_master(key)``."""

    database: bytes = field(repr=False)
    file_wrap: bytes = field(repr=False)
    fields: bytes = field(repr=False)
    check: str = ""  # the master key's public check value (app.security.keywrap.key_check; encryption.json)

    @classmethod
    def from_master(cls, master_key: bytes) -> "DataKeys":
        import hashlib
        import hmac

        if len(master_key) != KEY_BYTES:
            raise ValueError("the master key must be 32 bytes")
        return cls(_derive(master_key, "database"), _derive(master_key, "file key wrap"), _derive(master_key, "fields"),
                   hmac.new(master_key, b"telerad key check", hashlib.sha256).hexdigest())

    def sqlcipher_pragma(self) -> str:
        """``PRAGMA key`` with the raw 256-bit key (SQLCipher skips its own PBKDF2 for a raw key)."""
        return f"PRAGMA key = \"x'{self.database.hex()}'\""

    def seal_field(self, text: str, context: str) -> bytes:
        """AES-256-GCM of a short field (random nonce first); ``context`` is bound as associated data."""
        import os

        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        return nonce + AESGCM(self.fields).encrypt(nonce, text.encode("utf-8"), context.encode("utf-8"))

    def open_field(self, sealed: bytes, context: str) -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM(self.fields).decrypt(bytes(sealed[:12]), bytes(sealed[12:]), context.encode("utf-8")).decode("utf-8")
