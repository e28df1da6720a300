"""Encryption at rest: the data dir's keys (derived from the master key that sign-in unwraps), the file
format of stored files (chunked AES-256-GCM, one key per file) and the registry through which the store,
the databases and the readers of stored files find the key of the data dir a path lies in."""

from app.crypto.filecrypt import DecryptError, encrypt_bytes, is_encrypted
from app.crypto.keys import DataKeys
from app.crypto.registry import (KeyMissingError, is_stored_encrypted, keys_for, open_stored, read_stored,
                                 register, seal_for, stored_size, unregister)

__all__ = ["DataKeys", "DecryptError", "KeyMissingError", "encrypt_bytes", "is_encrypted", "is_stored_encrypted",
           "keys_for", "open_stored", "read_stored", "register", "seal_for", "stored_size", "unregister"]
