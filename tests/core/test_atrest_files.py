"""Encryption at rest, the readers of stored files (issue 16 item 2): a real 140-slice CT series and a
> 16 MiB multi-frame object stored in an encrypted data folder read back (index, headers, pixels, raw frames
at offsets, a whole volume) exactly as from a plaintext cache; `telerad check`'s reconcile, signed report
files and key images work sealed; a locked folder gives KeyMissingError, never a quarantine."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Iterator

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from app.crypto import DataKeys, KeyMissingError, is_stored_encrypted, open_stored, register, unregister
from app.crypto.filecrypt import CHUNK, MAGIC, EncryptedReader
from app.crypto.marker import write_marker
from app.dicom.codecs import decode_frame, raw_dtype, read_dataset, read_raw_frame
from app.dicom.header import read_header
from app.dicom.series import read_slice_refs
from app.dicom.volume import load_volume
from app.store import Cache

NAME, PID = "Zyxwvutsr^Atrest", "ATREST-PID-77810"
FRAMES = 40  # 40 x 512 x 512 x 2 bytes = 20 MiB: read through the chunked reader, not decrypted whole


def _ct_files(shared_data: Path) -> list[bytes]:
    """The 140 CT slices with our patient's name and ID (needles unlikely to occur in random bytes)."""
    out = []
    for path in sorted((shared_data / "ct" / "philips_phantom_study1_1mm").glob("I*")):
        ds = pydicom.dcmread(path)
        ds.PatientName, ds.PatientID = NAME, PID
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        out.append(buf.getvalue())
    return out


def _multiframe(study_uid: str) -> bytes:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7.3"  # Multi-frame Grayscale Word Secondary Capture
    ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), study_uid, generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality = NAME, PID, "OT"
    ds.Rows = ds.Columns = 512
    ds.NumberOfFrames, ds.SamplesPerPixel, ds.PhotometricInterpretation = FRAMES, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    pixels = (np.arange(FRAMES * 512 * 512, dtype=np.uint64) * 2654435761 % 65521).astype(np.uint16)
    ds.PixelData = pixels.tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


class Stores:
    def __init__(self, root: Path, shared_data: Path) -> None:
        self.home, self.plain_home = root / "enc", root / "plain"
        self.home.mkdir()
        self.keys = DataKeys.from_master(os.urandom(32))
        register(self.home, self.keys)
        write_marker(self.home, self.keys.check)
        files = _ct_files(shared_data)
        self.study_uid = str(pydicom.dcmread(io.BytesIO(files[0])).StudyInstanceUID)
        files.append(_multiframe(self.study_uid))
        self.enc, self.plain = Cache.open(self.home / "cache"), Cache.open(self.plain_home / "cache")
        for cache in (self.enc, self.plain):
            results = cache.store_many([(data, None) for data in files])
            assert {r.status for r in results} == {"imported"}, {r.reason for r in results}

    def series(self, cache: Cache) -> dict[str, list]:
        return {s.series_instance_uid: cache.list_instances(s.series_instance_uid)
                for s in cache.list_series(self.study_uid)}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Stores]:
    s = Stores(tmp_path_factory.mktemp("atrest_files"), shared_data)
    try:
        yield s
    finally:
        for cache in (s.enc, s.plain):
            cache.close()
        unregister(s.home)


def _pairs(stores: Stores) -> list[tuple]:
    enc, plain = stores.series(stores.enc), stores.series(stores.plain)
    assert enc.keys() == plain.keys()
    return [(e, p) for uid in enc for e, p in zip(enc[uid], plain[uid], strict=True)]


def _multiframe_pair(stores: Stores) -> tuple:
    return next((e, p) for e, p in _pairs(stores) if (e.geometry.number_of_frames or 1) > 1)


def test_no_stored_file_holds_the_patient(stores: Stores) -> None:
    files = [p for p in stores.home.rglob("*") if p.is_file()]
    assert len([p for p in files if p.suffix == ".dcm"]) == 141
    for path in files:
        data = path.read_bytes()
        assert NAME.encode() not in data and PID.encode() not in data and b"Zyxwvutsr" not in data, path
        if "objects" in path.parts:
            assert data.startswith(MAGIC)
    plain = [p for p in stores.plain_home.rglob("*.dcm")]
    assert all(PID.encode() in p.read_bytes() for p in plain)  # the comparison cache is plaintext


def test_index_and_headers_match_the_plaintext_cache(stores: Stores) -> None:
    pairs = _pairs(stores)
    assert len(pairs) == 141
    for e, p in pairs:
        assert (e.sop_instance_uid, e.size, e.sha256, e.pixel_offset, e.pixel_length, e.geometry) == \
            (p.sop_instance_uid, p.size, p.sha256, p.pixel_offset, p.pixel_length, p.geometry)
        assert e.size < e.path.stat().st_size  # the index keeps the plaintext's size
    for e, p in pairs[::20] + [_multiframe_pair(stores)]:
        assert read_header(e.path) == read_header(p.path)
        assert read_header(e.path).patient_id == PID


def test_pixels_and_raw_frames_match(stores: Stores) -> None:
    pairs = _pairs(stores)
    for e, p in pairs[::35]:
        assert np.array_equal(decode_frame(e.path), decode_frame(p.path))
        for ref_e, ref_p in zip(read_slice_refs(e.path), read_slice_refs(p.path), strict=True):
            assert ref_e.pixel_offset == ref_p.pixel_offset and ref_e.raw_readable
            a, b = np.empty((ref_e.rows, ref_e.cols), raw_dtype(ref_e)), np.empty((ref_p.rows, ref_p.cols), raw_dtype(ref_p))
            read_raw_frame(ref_e, a)
            read_raw_frame(ref_p, b)
            assert np.array_equal(a, b)


def test_large_multiframe_streams_through_chunks(stores: Stores) -> None:
    e, p = _multiframe_pair(stores)
    assert e.path.stat().st_size > 16 * 1024 * 1024
    with open_stored(e.path) as fh:
        assert isinstance(fh, EncryptedReader)  # not decrypted whole
    ds = read_dataset(e.path, defer_size=4096)  # deferred Pixel Data read later from the decrypting reader
    assert int(ds.NumberOfFrames) == FRAMES and str(ds.PatientID) == PID
    assert ds.PixelData == read_dataset(p.path).PixelData
    for frame in (0, 17, FRAMES - 1):
        assert np.array_equal(decode_frame(e.path, frame), decode_frame(p.path, frame))
    refs_e, refs_p = read_slice_refs(e.path), read_slice_refs(p.path)
    assert len(refs_e) == FRAMES and refs_e[17].pixel_offset == refs_p[17].pixel_offset
    assert refs_e[17].pixel_offset % (256 * 1024) != 0  # a frame that starts inside a chunk
    got, want = np.empty((512, 512), np.uint16), np.empty((512, 512), np.uint16)
    read_raw_frame(refs_e[17], got)
    read_raw_frame(refs_p[17], want)
    assert np.array_equal(got, want) and got.any()


def test_whole_volume_matches(stores: Stores) -> None:
    from app.viewer.mpr.loader import series_slices

    ct = next(uid for uid, rows in stores.series(stores.enc).items() if len(rows) == 140)
    enc = load_volume(series_slices(stores.enc, ct), workers=0)
    plain = load_volume(series_slices(stores.plain, ct), workers=0)
    assert enc.array.shape == (140, 512, 512) and np.array_equal(enc.array, plain.array)


def test_check_walks_and_adopts_encrypted_files(stores: Stores) -> None:
    report = stores.enc.check()
    assert (report.walked, report.quarantined, report.reindexed, report.marked_missing) == (141, 0, 0, 0)
    victim = _pairs(stores)[3][0]
    with stores.enc.lock, stores.enc.db.atomic():  # an orphan: a sealed file without its row
        stores.enc.db.execute("DELETE FROM instances WHERE sop_uid = ?", [victim.sop_instance_uid])
    report = stores.enc.check()
    assert (report.reindexed, report.quarantined) == (1, 0)
    again = stores.enc.get_instance(victim.sop_instance_uid)
    assert again is not None and (again.sha256, again.size) == (victim.sha256, victim.size)


def test_signed_report_file_is_sealed_and_checked(stores: Stores) -> None:
    from app.reporting.integrity import problem, write_signed

    path = stores.home / "reports" / "study" / "report.pdf"
    data = b"%PDF-1.7 " + NAME.encode() + os.urandom(1000)
    sha = write_signed(path, data)
    assert path.read_bytes().startswith(MAGIC) and NAME.encode() not in path.read_bytes()
    assert problem(path, sha) is None
    outside = stores.plain_home / "report.pdf"
    assert problem(outside, write_signed(outside, data)) is None and outside.read_bytes() == data
    damaged = bytearray(path.read_bytes())
    damaged[-5] ^= 1
    path.chmod(0o600)
    path.write_bytes(bytes(damaged))
    assert "changed on disk" in (problem(path, sha) or "")


def test_key_image_png_is_sealed_and_reaches_the_pdf(stores: Stores) -> None:
    from PIL import Image

    from app.dicom.render import render_png
    from app.reporting.pdf_render import _key_image_png

    instance = _pairs(stores)[70][0]
    png = stores.home / "key-images" / f"{instance.sha256[:16]}-0.png"
    png.parent.mkdir()
    render_png(instance.path, png)
    assert is_stored_encrypted(png)
    data = _key_image_png(str(png))
    assert data is not None and Image.open(io.BytesIO(data)).size == (512, 512)


def test_a_locked_folder_refuses_clearly_and_changes_nothing(stores: Stores) -> None:
    from dataclasses import replace

    e, _p = _multiframe_pair(stores)
    single = _pairs(stores)[0][0]
    ref = replace(read_slice_refs(single.path)[0], path=str(single.path))
    stores.enc.close()
    before = sorted(p.relative_to(stores.home) for p in stores.home.rglob("*") if p.is_file())
    unregister(stores.home)
    try:
        with pytest.raises(KeyMissingError, match="sign in"):
            read_header(single.path)
        with pytest.raises(KeyMissingError):
            read_dataset(e.path, defer_size=4096)
        with pytest.raises(KeyMissingError):
            decode_frame(single.path)
        with pytest.raises(KeyMissingError):
            read_raw_frame(ref, np.empty((512, 512), np.int16))
        with pytest.raises(KeyMissingError):
            Cache.open(stores.home / "cache", check=True)  # the locked index: no walk, no quarantine, no rebuild
    finally:
        register(stores.home, stores.keys)
    after = sorted(p.relative_to(stores.home) for p in stores.home.rglob("*") if p.is_file())
    assert set(before) ^ set(after) == set(), (set(before) - set(after), set(after) - set(before))
    stores.enc = Cache.open(stores.home / "cache", check=True)
    report = stores.enc.reconcile_report
    assert (report.walked, report.quarantined, report.database_rebuilt) == (141, 0, False)
    assert stores.enc.list_quarantine() == [] and len(_pairs(stores)) == 141


@pytest.mark.parametrize("offset,size", [(0, 10), (100, 256 * 1024), (256 * 1024, 256 * 1024), (1000, 700_000),
                                         (3 * 256 * 1024 + 10, 10_000), (0, 2_000_000), (999_990, 100), (5_000_000, 10)])
def test_range_reads_of_a_sealed_file(tmp_path: Path, offset: int, size: int) -> None:
    from app.crypto import DecryptError, seal_for
    from app.crypto.ranges import read_into

    keys = DataKeys.from_master(os.urandom(32))
    data = os.urandom(1_000_000)
    sealed, plain = tmp_path / "home" / "sealed.bin", tmp_path / "plain.bin"
    sealed.parent.mkdir()
    plain.write_bytes(data)
    register(sealed.parent, keys)
    try:
        sealed.write_bytes(seal_for(sealed, data))
        for path in (sealed, plain):
            out = bytearray(size)
            got = read_into(path, offset, memoryview(out))
            assert got == len(data[offset:offset + size]) and bytes(out[:got]) == data[offset:offset + size]
        damaged = bytearray(sealed.read_bytes())
        damaged[-100] ^= 1  # the last chunk
        sealed.write_bytes(bytes(damaged))
        out = bytearray(size)
        if offset + size > (len(data) - 1) // CHUNK * CHUNK and offset < len(data):  # touches the last chunk
            with pytest.raises(DecryptError):
                read_into(sealed, offset, memoryview(out))
        else:
            assert bytes(out[:read_into(sealed, offset, memoryview(out))]) == data[offset:offset + size]
    finally:
        unregister(sealed.parent)
    with pytest.raises(KeyMissingError):
        read_into(sealed, 0, memoryview(bytearray(10)))


def test_c_store_sends_the_decrypted_objects(stores: Stores, tmp_path: Path) -> None:
    from app.network.nodes import Node
    from app.network.send import send_files
    from tests.core.net_peers import free_port, start_storescp, stop

    port = free_port()
    peer = start_storescp(port, tmp_path / "pacs")
    try:
        chosen = [e for e, _p in _pairs(stores)[::40]] + [_multiframe_pair(stores)[0]]
        result = send_files(Node("PACS", "STORESCP", "127.0.0.1", port), "TELERAD", [e.path for e in chosen])
    finally:
        stop(peer)
    assert not result.failed and sorted(result.sent) == sorted(e.sop_instance_uid for e in chosen)
    received = {str(pydicom.dcmread(p).SOPInstanceUID): p for p in (tmp_path / "pacs").rglob("*") if p.is_file()}
    for e in chosen:
        got = pydicom.dcmread(received[e.sop_instance_uid])
        assert str(got.PatientID) == PID and got.PixelData == read_dataset(e.path).PixelData
