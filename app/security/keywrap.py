"""The data dir's master key wrapped per account with AES-256-GCM (random 96-bit nonce, the account name as
associated data: a wrapped key copied onto another account does not unwrap)."""

from __future__ import annotations

import hashlib
import hmac
import os

MASTER_KEY_BYTES = 32
NONCE_BYTES = 12
_AAD = b"telerad master key v1\x1f"


def new_master_key() -> bytes:
    return os.urandom(MASTER_KEY_BYTES)


def wrap(kek: bytes, master_key: bytes, account: str) -> tuple[bytes, bytes]:
    """(nonce, ciphertext with tag) of ``master_key`` under ``kek``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_BYTES)
    return nonce, AESGCM(kek).encrypt(nonce, master_key, _AAD + account.encode("utf-8"))


def unwrap(kek: bytes, nonce: bytes, wrapped: bytes, account: str) -> bytes:
    """The master key; ``cryptography.exceptions.InvalidTag`` if the key or the record is wrong."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(kek).decrypt(nonce, wrapped, _AAD + account.encode("utf-8"))


def key_check(master_key: bytes) -> str:
    """A public check value of the master key (HMAC-SHA256 of a constant): every account must wrap the same key."""
    return hmac.new(master_key, b"telerad key check", hashlib.sha256).hexdigest()
