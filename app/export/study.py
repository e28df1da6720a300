"""Write de-identified copies of a study's files to a folder, a ZIP archive or DICOMDIR media.

Every header is checked (Burned In Annotation) before the first byte is written; the names inside are
``S001/I00001.dcm`` (series, instance: no UID, no patient data). Encapsulated documents (the signed
report's PDF shows the patient's name in its text, Burned In Annotation YES) are left out by the caller:
:func:`exportable` says which SOP classes can be de-identified; a folder or ZIP is written under a
temporary name and renamed when complete, so a cancelled or failed export leaves nothing half-written.
DICOMDIR media (``dicomdir=True``, a folder) are written by pydicom's ``FileSet`` (PS3.10 file IDs, the
General Purpose profile's directory records); the keys its records require (PS3.3 F.5: Study Date and Time,
Study ID, Content Date and Time...) that the Basic Profile emptied get dummy values (an allowed Z value).
"""

from __future__ import annotations

import shutil
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from app.export.deid import Deidentifier, DeidOptions
from app.tasks import ProgressFn, check_cancel, report

if TYPE_CHECKING:
    from pydicom.dataset import Dataset


@dataclass(frozen=True)
class ExportResult:
    destination: Path
    files: int
    series: int
    study_uids: tuple[str, ...]  # the new (de-identified) Study Instance UIDs
    skipped: int = 0  # encapsulated documents left out (their content cannot be de-identified)
    node: str = ""  # sent to this node (C-STORE) instead of written: destination was a temporary folder
    sent: int = 0  # instances the node stored
    failed: tuple[str, ...] = ()  # why the others were not stored


ENCAPSULATED_DOCUMENTS = "1.2.840.10008.5.1.4.1.1.104."


def exportable(sop_class_uid: str) -> bool:
    """False for encapsulated documents (PDF, CDA, STL...): Annex E cannot clean their content."""
    return not str(sop_class_uid).startswith(ENCAPSULATED_DOCUMENTS)


def _check_headers(sources: Sequence[tuple[str, Path]], deid: Deidentifier) -> None:
    from app.dicom.stored import dcmread_stored

    for _series, path in sources:
        deid.check_burned_in(dcmread_stored(path, stop_before_pixels=True, specific_tags=["BurnedInAnnotation"]))


def export_deidentified(sources: Sequence[tuple[str, Path]], destination: Path, options: DeidOptions, *,
                        dicomdir: bool = False, progress: Optional[ProgressFn] = None,
                        cancel: Optional[threading.Event] = None) -> ExportResult:
    """De-identify ``sources`` ((series UID, file) pairs) into ``destination`` (a ``.zip``, a new folder, or
    with ``dicomdir`` a new folder of DICOMDIR media); DeidentificationBlocked before writing anything when a
    file has burned-in annotation unconfirmed."""
    from app.dicom.stored import dcmread_stored

    destination = Path(destination)
    if dicomdir and destination.suffix.lower() == ".zip":
        raise ValueError("DICOMDIR media go to a folder, not a ZIP")
    if destination.exists() and (destination.is_file() or any(destination.iterdir())):
        raise FileExistsError(f"{destination} already exists; choose a new folder or ZIP name")
    deid = Deidentifier(options)
    _check_headers(sources, deid)
    series_index: dict[str, int] = {}
    tmp = destination.with_name(f".{destination.name}.partial")
    writer: _Writer = (_MediaWriter(tmp) if dicomdir else _ZipWriter(tmp) if destination.suffix.lower() == ".zip"
                       else _FolderWriter(tmp))
    study_uids: set[str] = set()
    try:
        for n, (series, path) in enumerate(sources, 1):
            check_cancel(cancel)  # Cancelled: nothing is left at the destination
            ds = deid.apply(dcmread_stored(path))  # read decrypted; written plaintext outside the data folder
            study_uids.add(str(ds.StudyInstanceUID))
            index = series_index.setdefault(series, len(series_index) + 1)
            writer.write(f"S{index:03d}/I{n:05d}.dcm", ds, index, n)
            report(progress, n, len(sources), "de-identifying")
        writer.close()
        if destination.exists():
            destination.rmdir()
        tmp.rename(destination)
    except BaseException:
        writer.discard()
        raise
    return ExportResult(destination, len(sources), len(series_index), tuple(sorted(study_uids)))


class _Writer:
    def write(self, name: str, ds: "Dataset", series: int, instance: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def discard(self) -> None:
        raise NotImplementedError


class _FolderWriter(_Writer):
    def __init__(self, root: Path) -> None:
        self.root = root
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)

    def write(self, name: str, ds: "Dataset", series: int, instance: int) -> None:
        from app.dicom.part10 import dataset_bytes

        path = self.root / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(dataset_bytes(ds))

    def close(self) -> None:
        pass

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class _ZipWriter(_Writer):
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)

    def write(self, name: str, ds: "Dataset", series: int, instance: int) -> None:
        from app.dicom.part10 import dataset_bytes

        self.zip.writestr(f"DICOM/{name}", dataset_bytes(ds))

    def close(self) -> None:
        self.zip.close()

    def discard(self) -> None:
        self.zip.close()
        self.path.unlink(missing_ok=True)


class _MediaWriter(_Writer):
    """DICOMDIR media: pydicom's FileSet stages each object (its own temporary folder) and writes the
    DICOMDIR and the files (PS3.10 IDs such as ``PT000000/ST000000/SE000000/IM000000``) on close."""

    def __init__(self, root: Path) -> None:
        from pydicom.fileset import FileSet

        self.root = root
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        self.fileset = FileSet()
        self.fileset.ID = "DEIDENTIFIED"

    def write(self, name: str, ds: "Dataset", series: int, instance: int) -> None:
        directory_keys(ds, series, instance)
        added = self.fileset.add(ds)
        document_record(added.node._record, ds)  # pydicom's record, completed (relied on: pydicom 3.0)

    def close(self) -> None:
        self.fileset.write(self.root)

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


# Keys the General Purpose directory records require (PS3.3 F.5, Type 1) that the Basic Profile may have
# emptied (action Z): an allowed dummy value instead (PS3.15 E.3: "a non-zero length dummy value").
DIRECTORY_DUMMIES = {"StudyDate": "19000101", "StudyTime": "000000", "StudyID": "1", "ContentDate": "19000101",
                     "ContentTime": "000000"}


def directory_keys(ds: "Dataset", series: int, instance: int) -> None:
    """Fill the directory records' required keys that are empty or absent (Study Date/Time/ID always; Content
    Date/Time when present; Series and Instance Number from the export's order)."""
    for keyword, dummy in DIRECTORY_DUMMIES.items():
        if keyword.startswith("Study") or keyword in ds:
            if not str(ds.get(keyword, "") or ""):
                setattr(ds, keyword, dummy)
    if ds.get("SeriesNumber") in (None, ""):
        ds.SeriesNumber = series
    if ds.get("InstanceNumber") in (None, ""):
        ds.InstanceNumber = instance


def document_record(record: "Dataset", ds: "Dataset") -> None:
    """Complete an SR / KOS directory record as PS3.3 F.5 wants it (pydicom copies the whole content tree
    and looks for Verification DateTime at the top level): only the root's HAS CONCEPT MOD items stay in its
    Content Sequence, and a VERIFIED document's record gets the last verifier's Verification DateTime."""
    if "ContentSequence" in record:
        kept = [item for item in record.ContentSequence if item.get("RelationshipType") == "HAS CONCEPT MOD"]
        if kept:
            record.ContentSequence = kept
        else:
            del record.ContentSequence
    if record.get("VerificationFlag") == "VERIFIED" and not record.get("VerificationDateTime"):
        observers = ds.get("VerifyingObserverSequence") or []
        when = str(observers[-1].get("VerificationDateTime", "") or "") if observers else ""
        record.VerificationDateTime = when or "19000101000000"
