"""C-STORE SCU: send DICOM files to a node, one association, raw bytes as stored."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from app.crypto import KeyMissingError
from app.network import netaudit
from app.network.nodes import Node
from app.network.scu import NetworkError, associate
from app.network.syntaxes import uncompressed
from app.tasks import Cancelled, ProgressFn, check_cancel, report

if TYPE_CHECKING:
    from pydicom import Dataset

    from app.audit import AuditLog


@dataclass
class SendResult:
    """Per-file outcome of :func:`send_files` (status codes as the peer answered)."""

    sent: list[str] = field(default_factory=list)  # SOP Instance UIDs stored (success or warning)
    failed: dict[str, str] = field(default_factory=dict)  # path -> reason
    cancelled: bool = False


def _header(path: Path) -> tuple[str, str, str, str]:
    from pydicom.uid import ImplicitVRLittleEndian

    from app.dicom.stored import dcmread_stored

    ds = dcmread_stored(path, stop_before_pixels=True,
                        specific_tags=["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID"])
    ts = str(ds.file_meta.get("TransferSyntaxUID", ImplicitVRLittleEndian))
    return str(ds.SOPClassUID), str(ds.SOPInstanceUID), ts, str(ds.get("StudyInstanceUID", ""))


def _payload(path: Path) -> "Path | Dataset":
    """What pynetdicom sends: the path of a plaintext file (it reads it itself), the decrypted data set of
    a file encrypted at rest (pynetdicom would read the ciphertext)."""
    from app.crypto import is_stored_encrypted
    from app.dicom.stored import dcmread_stored

    return dcmread_stored(path) if is_stored_encrypted(path) else path


def _contexts(headers: Sequence[tuple[str, str, str, str]]) -> list[tuple[str, list[str]]]:
    pairs = sorted({(h[0], h[2]) for h in headers})
    plain = uncompressed()
    contexts: list[tuple[str, list[str]]] = []
    for sop_class in sorted({p[0] for p in pairs}):
        contexts.append((sop_class, plain))
    for sop_class, ts in pairs:
        if ts not in plain:
            contexts.append((sop_class, [ts]))
    if len(contexts) > 128:
        raise NetworkError("more than 128 SOP class / transfer syntax pairs in one send")
    return contexts


def send_files(node: Node, calling_aet: str, paths: Sequence[Path], *, audit: "AuditLog | None" = None,
               user: str | None = None, cancel: threading.Event | None = None,
               progress: ProgressFn | None = None, timeout: float = 60.0) -> SendResult:
    """C-STORE every file (Part 10) to ``node``; files that do not parse fail individually."""
    result = SendResult()
    headers: list[tuple[Path, tuple[str, str, str, str]]] = []
    for path in paths:
        try:
            headers.append((Path(path), _header(Path(path))))
        except KeyMissingError as exc:
            result.failed[str(path)] = str(exc)
        except Exception as exc:
            result.failed[str(path)] = f"not a readable DICOM file ({type(exc).__name__})"
    studies: dict[str, int] = {}
    if headers:
        netaudit.begin_transfer(audit, node=node.name, study_uid=headers[0][1][3] or None, method="C-STORE",
                                user=user)
        try:
            with associate(node, calling_aet, _contexts([h for _, h in headers]), timeout=timeout) as assoc:
                for i, (path, (_, sop_uid, _, study)) in enumerate(headers):
                    check_cancel(cancel)
                    status = assoc.send_c_store(_payload(path), msg_id=(i % 65535) + 1)
                    code = int(status.Status) if status is not None and "Status" in status else None
                    if code is not None and (code == 0 or 0xB000 <= code <= 0xBFFF):
                        result.sent.append(sop_uid)
                        studies[study] = studies.get(study, 0) + 1
                    else:
                        result.failed[str(path)] = "no response" if code is None else f"status 0x{code:04X}"
                        if code is None:
                            raise NetworkError(f"C-STORE to {node.name}: no response")
                    report(progress, i + 1, len(headers), "sent")
        except Cancelled:
            result.cancelled = True
            raise
        finally:
            for study, count in studies.items() or {None: 0}.items():
                netaudit.transfer(audit, direction="sent", node=node.name, study_uid=study, count=count,
                                  failed=len(result.failed), user=user,
                                  outcome=4 if result.cancelled else None)
    return result
