"""pydicom reads of stored files, encrypted at rest (app.crypto) or plaintext alike.

:func:`dcmread_stored` hands pydicom a plaintext reader: the real file of a plaintext file (deferred values are
read again from that path), else the decrypted buffer, kept by the dataset (``ds.buffer``) for its deferred
values. :func:`open_pixels` is the frame reader's source: the unbuffered file, or a chunked decrypting view.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Any, BinaryIO, Callable

from app.crypto import KeyMissingError, keys_for, open_stored
from app.crypto.filecrypt import MAGIC, EncryptedReader

if TYPE_CHECKING:
    from pydicom import Dataset


def dcmread_stored(path: "str | os.PathLike[str]", *, check: "Callable[[BinaryIO], None] | None" = None,
                   retry_force: bool = False, **kwargs: Any) -> "Dataset":
    """``pydicom.dcmread(path, **kwargs)`` of a stored file (KeyMissingError: encrypted and locked).

    ``check`` sees the plaintext reader first; ``retry_force``: read again with ``force`` when pydicom finds
    no DICOM preamble/File Meta."""
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    fh = open_stored(os.fspath(path))
    # a plaintext file reopens by name, and a read that defers nothing needs no buffer: close those after
    keep = not isinstance(fh, io.BufferedReader) and kwargs.get("defer_size") is not None
    try:
        if check is not None:
            check(fh)
            fh.seek(0)
        try:
            ds = dcmread(fh, **kwargs)
        except InvalidDicomError:
            if not retry_force:
                raise
            fh.seek(0)
            ds = dcmread(fh, **kwargs, force=True)
        if not keep and getattr(ds, "buffer", None) is fh:
            ds.buffer = None  # closed below, and nothing to read from it (a deepcopy would warn)
        return ds
    except BaseException:
        keep = False
        raise
    finally:
        if not keep:
            fh.close()


def open_pixels(path: "str | os.PathLike[str]") -> BinaryIO:
    """A seekable plaintext reader for reads at offsets: the unbuffered file (plaintext), else an
    :class:`EncryptedReader` that decrypts only the chunks a read touches."""
    raw = open(path, "rb", buffering=0)
    try:
        if os.pread(raw.fileno(), len(MAGIC), 0) != MAGIC:
            return raw
        keys = keys_for(path)
        if keys is None:
            raise KeyMissingError(f"{path} is encrypted and the data folder is locked: sign in first")
        return EncryptedReader(raw, keys.file_wrap, os.fspath(path))  # type: ignore[return-value]
    except BaseException:
        raw.close()
        raise
