"""Helpers for store/importer tests: craft small DICOM files in memory."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def make_dataset(
    *,
    sop_uid: str | None = None,
    study_uid: str | None = None,
    series_uid: str | None = None,
    patient_id: str = "PID-1",
    patient_name: str = "Test^Patient",
    rows: int = 4,
    columns: int = 4,
    fill: int = 7,
    instance_number: int = 1,
) -> Dataset:
    """A tiny valid CT instance (16-bit, native pixels)."""
    ds = Dataset()
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_uid or generate_uid()
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.PatientID = patient_id
    ds.PatientName = patient_name
    ds.Modality = "CT"
    ds.StudyDate = "20240102"
    ds.InstanceNumber = instance_number
    ds.ImagePositionPatient = [0, 0, float(instance_number)]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.5, 0.5]
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.PixelData = np.full((rows, columns), fill, dtype="<u2").tobytes()
    return ds


def to_bytes(ds: Dataset, *, preamble: bytes | None = None, with_meta: bool = True) -> bytes:
    """Encode as explicit VR little endian; with File Meta + preamble, or a bare dataset."""
    buffer = BytesIO()
    if with_meta:
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.preamble = preamble if preamble is not None else b"\x00" * 128
        ds.save_as(buffer, enforce_file_format=True)
    else:
        ds.save_as(buffer, implicit_vr=False, little_endian=True)
    return buffer.getvalue()


def make_file(**kwargs: object) -> bytes:
    """``to_bytes(make_dataset(**kwargs))``."""
    return to_bytes(make_dataset(**kwargs))  # type: ignore[arg-type]


def replace_sop_uid(data: bytes, old: str, new_value: bytes) -> bytes:
    """Swap the dataset's (0008,0018) element for one holding ``new_value`` raw bytes."""
    old_value = old.encode("ascii") + (b"\x00" if len(old) % 2 else b"")
    old_elem = b"\x08\x00\x18\x00UI" + len(old_value).to_bytes(2, "little") + old_value
    if len(new_value) % 2:
        new_value += b"\x00"
    new_elem = b"\x08\x00\x18\x00UI" + len(new_value).to_bytes(2, "little") + new_value
    start = data.rindex(old_elem)  # the dataset one (after the File Meta copy)
    return data[:start] + new_elem + data[start + len(old_elem):]


#: 14 small real instances in 5 studies (pydicom's DICOMDIR test media), for the crash tests.
SMALL_STUDY_FOLDERS = ("77654033", "98892001")


def copy_small_studies(shared_data: Path, folder: Path) -> Path:
    """Copy :data:`SMALL_STUDY_FOLDERS` from the shared data into ``folder``; return ``folder``."""
    import shutil

    for name in SMALL_STUDY_FOLDERS:
        shutil.copytree(shared_data / "media" / "pydicom_dicomdirtests" / name, folder / name)
    return folder


def write_series(folder: Path, count: int, study_uid: str) -> Path:
    """``count`` generated instances of one study as ``NN.dcm`` files in a new ``folder``."""
    folder.mkdir()
    for i in range(count):
        (folder / f"{i:02}.dcm").write_bytes(make_file(study_uid=study_uid, instance_number=i))
    return folder


def cancel_after(done: int):  # type: ignore[no-untyped-def]
    """(cancel event, progress reports seen, progress callback that sets the event at ``done``)."""
    import threading

    cancel, seen = threading.Event(), []

    def progress(p) -> None:  # type: ignore[no-untyped-def]
        seen.append(p)
        if p.done == done:
            cancel.set()

    return cancel, seen, progress
