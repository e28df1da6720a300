"""Which data dir's keys apply to a path: the workstation registers its data dir's keys once unlocked, and
every reader and writer of stored files goes through :func:`open_stored` / :func:`read_stored` /
:func:`seal_for`, which pick the keys of the registered folder the path lies in (none: plaintext)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import BinaryIO

from app.crypto.filecrypt import HEADER, MAGIC, EncryptedReader, decrypt_bytes, decrypt_to_buffer, encrypt_bytes, parse_header
from app.crypto.keys import DataKeys

WHOLE_BELOW = 16 * 1024 * 1024  # smaller encrypted files are decrypted at once (C-speed reads after)
_lock = threading.Lock()
_roots: dict[str, DataKeys] = {}

class KeyMissingError(RuntimeError):
    """An encrypted file or database and no unlocked key for it (nobody signed in)."""

def register(root: str | os.PathLike[str], keys: DataKeys) -> None:
    """Files under ``root`` are read and written with ``keys`` from now on."""
    with _lock:
        for name in {os.path.abspath(root), os.path.realpath(root)}:
            _roots[name] = keys

def unregister(root: str | os.PathLike[str]) -> None:
    with _lock:
        for name in {os.path.abspath(root), os.path.realpath(root)}:
            _roots.pop(name, None)

def snapshot() -> dict[str, DataKeys]:
    """The registered folders and their keys (handed to the decoder worker processes with their work)."""
    with _lock:
        return dict(_roots)


def adopt(folders: dict[str, DataKeys]) -> None:
    """In a worker process: use the folders' keys of the process that sent the work."""
    if folders:
        with _lock:
            _roots.update(folders)


def keys_for(path: str | os.PathLike[str]) -> DataKeys | None:
    """The keys of the registered folder holding ``path`` (None: no such folder)."""
    if not _roots:
        return None
    current = os.path.abspath(path)
    while True:
        keys = _roots.get(current)
        if keys is not None:
            return keys
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent

def _required(path: str | os.PathLike[str]) -> DataKeys:
    keys = keys_for(path)
    if keys is None:
        raise KeyMissingError(f"{path} is encrypted and the data folder is locked: sign in first")
    return keys

def open_stored(path: str | os.PathLike[str]) -> BinaryIO:
    """A binary, seekable reader of the plaintext of a stored file, encrypted or not."""
    raw = open(path, "rb")
    try:
        if raw.read(len(MAGIC)) != MAGIC:
            raw.seek(0)
            return raw
        raw.seek(0)
        keys = _required(path)
        size = os.fstat(raw.fileno()).st_size
        if size <= WHOLE_BELOW:
            with raw:
                return decrypt_to_buffer(keys.file_wrap, raw.read(), str(path))
        # not wrapped in io.BufferedReader: pydicom takes one for a named file and reopens the (encrypted) path
        return EncryptedReader(raw, keys.file_wrap, str(path))  # type: ignore[return-value]
    except BaseException:
        raw.close()
        raise

def read_stored(path: str | os.PathLike[str]) -> bytes:
    """The whole plaintext of a stored file."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:len(MAGIC)] != MAGIC:
        return data
    return decrypt_bytes(_required(path).file_wrap, data, str(path))

def stored_size(path: str | os.PathLike[str]) -> int:
    """The plaintext length of a stored file (its size on disk when not encrypted)."""
    with open(path, "rb") as fh:
        head = fh.read(HEADER)
    if head[:len(MAGIC)] != MAGIC:
        return os.path.getsize(path)
    return parse_header(head, _required(path).file_wrap, str(path))[1]

def seal_for(path: str | os.PathLike[str], data: bytes | memoryview) -> bytes | memoryview:
    """What to write at ``path`` for the plaintext ``data``: encrypted when it lies in a registered folder."""
    keys = keys_for(path)
    return data if keys is None else encrypt_bytes(keys.file_wrap, data)

def is_stored_encrypted(path: str | os.PathLike[str]) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(MAGIC)) == MAGIC

def encrypted_root(path: Path) -> bool:
    """True if files written under ``path`` are encrypted (its data folder is registered)."""
    return keys_for(path) is not None
