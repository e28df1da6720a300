"""Enumerate what an import will read: files, folder trees, ZIP members, DICOMDIR references.

Nothing here writes to disk. Each physical file is listed once (by resolved path), so a file
reached both through a DICOMDIR and a folder walk is imported once.
"""

from __future__ import annotations

import logging
import os
import threading
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.tasks import check_cancel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ZipLimits:
    """Zip-bomb guards: per member, per archive total, and decompression ratio."""

    max_member_bytes: int = 1024**3
    max_total_bytes: int = 16 * 1024**3
    max_ratio: int = 200  # uncompressed / compressed, for members over ``ratio_floor``
    ratio_floor: int = 10 * 1024**2


@dataclass(frozen=True)
class Item:
    """One unit of work: a file on disk, or a member of a ZIP archive."""

    label: str  # what to show and record; never used as a path
    path: Path
    member: zipfile.ZipInfo | None = None


@dataclass
class Collected:
    """Items to import plus inputs refused before reading (label, reason)."""

    items: list[Item] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def _walk(folder: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


def is_zip(path: Path) -> bool:
    """A ZIP archive (and not a DICOM file that merely embeds one)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return head[:4] == b"PK\x03\x04" and head[128:132] != b"DICM" and zipfile.is_zipfile(path)


def _zip_items(path: Path, limits: ZipLimits, out: Collected) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        out.refused.append((str(path), f"unreadable ZIP archive: {exc}"))
        return
    total = 0
    for member in members:
        label = f"{path}!{member.filename}"
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.flag_bits & 0x1:
            out.refused.append((label, "encrypted ZIP member"))
        elif member.file_size > limits.max_member_bytes:
            out.refused.append((label, f"ZIP member larger than {limits.max_member_bytes} bytes"))
        elif total > limits.max_total_bytes:
            out.refused.append((label, f"ZIP archive expands beyond {limits.max_total_bytes} bytes"))
        elif member.file_size > limits.ratio_floor and ratio > limits.max_ratio:
            out.refused.append((label, f"ZIP member compression ratio {ratio:.0f} looks like a zip bomb"))
        else:
            out.items.append(Item(label, path, member))


def _record_file_ids(dicomdir: Path) -> list[tuple[str, ...]]:
    """ReferencedFileID of every record, read straight from the directory records."""
    from pydicom import dcmread

    ids = []
    for record in dcmread(dicomdir).get("DirectoryRecordSequence", []):
        value = record.get("ReferencedFileID")
        if value:
            parts = [value] if isinstance(value, str) else list(value)
            ids.append(tuple(str(p) for p in parts))
    return ids


def dicomdir_references(dicomdir: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files a DICOMDIR references (inside its folder), and refused references with reasons."""
    from pydicom import dcmread
    from pydicom.fileset import FileSet

    root = dicomdir.parent.resolve()
    file_set = FileSet()  # makes an (empty) staging dir in the system temp: removed below
    try:
        file_set.load(dcmread(dicomdir))
        candidates = [(str(i.path), Path(i.path)) for i in file_set]
    except Exception as exc:  # FileSet refuses the whole set (e.g. an escaping path): go per record
        log.debug("FileSet could not load %s (%s); reading records directly", dicomdir, exc)
        try:
            candidates = [("/".join(ids), root.joinpath(*ids)) for ids in _record_file_ids(dicomdir)]
        except Exception as exc2:
            return [], [(str(dicomdir), f"unreadable DICOMDIR: {exc2}")]
    finally:
        stage = getattr(file_set, "_stage", {}).get("t")
        if stage is not None:
            stage.cleanup()
    found, refused = [], []
    for label, candidate in candidates:
        resolved = candidate.resolve()
        if not resolved.is_relative_to(root):
            refused.append((f"{dicomdir}: {label}", "DICOMDIR reference escapes the media root"))
        elif not resolved.is_file():
            refused.append((f"{dicomdir}: {label}", "file referenced by DICOMDIR is missing"))
        else:
            found.append(resolved)
    return found, refused


def collect(
    paths: Sequence[Path], limits: ZipLimits = ZipLimits(), cancel: threading.Event | None = None
) -> Collected:
    """List the work for ``paths`` (files, folders walked recursively, ZIPs, DICOMDIRs)."""
    out = Collected()
    seen: set[Path] = set()

    def add(path: Path) -> None:
        resolved = path.resolve()
        if resolved in seen:
            return
        seen.add(resolved)
        if not resolved.is_file():
            out.refused.append((str(path), "not a regular file"))
            return
        if is_zip(path):
            _zip_items(path, limits, out)
            return
        out.items.append(Item(str(path), path))
        if path.name.upper() == "DICOMDIR":
            references, refused = dicomdir_references(path)
            out.refused.extend(refused)
            for reference in references:
                add(reference)

    for path in map(Path, paths):
        if path.is_dir():
            for file in _walk(path):
                check_cancel(cancel)
                add(file)
        elif path.is_file():
            add(path)
        else:
            out.refused.append((str(path), "no such file or folder"))
    return out
