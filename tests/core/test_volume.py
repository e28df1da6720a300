"""load_volume: equals a serial decode, first slice first, cancellable, no leaked shared memory."""

from __future__ import annotations

import os
import threading
import tracemalloc
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread

from app.dicom.codecs import DecodeError
from app.dicom.series import SliceRef, read_slice_refs
from app.dicom.volume import load_volume, shutdown_pool
from app.tasks import Cancelled
from tests.core.pixel_helpers import CT_DIR, MR_SAG_DIR, series_files, series_refs


def _shm_names() -> set[str]:
    return {n for n in os.listdir("/dev/shm") if n.startswith("psm_")}


def _bare(refs: list[SliceRef]) -> list[SliceRef]:
    """Only what an index without pixel offsets knows: workers must parse the headers."""
    return [SliceRef(path=r.path, frame=r.frame, ipp=r.ipp, iop=r.iop, pixel_spacing=r.pixel_spacing,
                     rows=r.rows, cols=r.cols) for r in refs]


def _serial(paths: list[str]) -> np.ndarray:
    """The plain pydicom loop: dcmread + pixel_array + rescale + np.stack."""
    out = []
    for path in paths:
        ds = dcmread(path)
        out.append(ds.pixel_array * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0)))
    return np.stack(out)


@pytest.fixture(scope="module")
def ct_refs(shared_data: Path) -> list[SliceRef]:
    return series_refs(CT_DIR)


@pytest.fixture(scope="module", autouse=True)
def _pool_teardown():
    yield
    shutdown_pool()


def test_raw_path_equals_serial_decode(ct_refs) -> None:
    before = _shm_names()
    vol = load_volume(ct_refs)
    assert vol.array.dtype == np.int16 and vol.array.shape == (140, 512, 512)
    assert np.array_equal(vol.array, _serial([r.path for r in vol.slices]))
    assert vol.geometry.shape == vol.array.shape and _shm_names() == before


def test_worker_pool_path_equals_serial_decode(shared_data: Path) -> None:
    before = _shm_names()
    refs = _bare(series_refs(MR_SAG_DIR))
    vol = load_volume(refs, workers=2)
    assert vol.array.dtype == np.int16 and vol.array.shape == (192, 256, 256)
    assert np.array_equal(vol.array, _serial([r.path for r in vol.slices]))
    assert _shm_names() == before  # unlinked as soon as loaded; the mapping lives on
    del vol


def test_compressed_series_through_workers(ct_refs, tmp_path: Path) -> None:
    from pydicom.uid import JPEGLSLossless, RLELossless

    paths = []
    for i, ref in enumerate(ct_refs[::10]):
        ds = dcmread(ref.path)
        ds.compress(JPEGLSLossless if i % 2 else RLELossless)
        paths.append(tmp_path / f"{i}.dcm")
        ds.save_as(paths[-1])
    refs = [r for p in paths for r in read_slice_refs(p)]
    assert all(r.pixel_offset is None for r in refs)
    vol = load_volume(refs, workers=2)
    assert np.array_equal(vol.array, _serial([r.path for r in vol.slices]))
    serial_inprocess = load_volume(refs, workers=0)
    assert np.array_equal(vol.array, serial_inprocess.array)


def test_first_slice_delivered_before_the_rest(ct_refs) -> None:
    events: list[tuple[str, int]] = []
    seen = {}

    def first(index: int, arr: np.ndarray) -> None:
        events.append(("first", index))
        seen["copy"] = arr.copy()

    vol = load_volume(_bare(ct_refs), workers=2, first=30, on_first_slice=first,
                      progress=lambda p: events.append(("progress", p.done)))
    assert events[0] == ("first", 30)
    assert [e for e in events if e[0] == "first"] == [("first", 30)]
    assert max(d for kind, d in events if kind == "progress") == 140
    assert np.array_equal(seen["copy"], vol.array[30])


@pytest.mark.parametrize("bare", [True, False], ids=["workers", "raw"])
def test_cancel_unlinks_shared_memory(ct_refs, bare: bool) -> None:
    before = _shm_names()
    cancel = threading.Event()
    refs = _bare(ct_refs) if bare else ct_refs
    with pytest.raises(Cancelled):
        load_volume(refs, workers=2, cancel=cancel, on_first_slice=lambda i, a: cancel.set())
    cancel2 = threading.Event()

    def stop_midway(p) -> None:
        if p.done >= 3:
            cancel2.set()

    with pytest.raises(Cancelled):
        load_volume(refs, workers=2, cancel=cancel2, progress=stop_midway)
    assert _shm_names() == before
    assert load_volume(refs[:5], workers=2).array.shape[0] == 5  # pool still usable


def test_rescale_to_float32_when_needed(shared_data: Path) -> None:
    refs = read_slice_refs(shared_data / "mr/enhanced_philips/IM-0001-0170-0001.dcm")
    vol = load_volume(refs, workers=0)
    assert vol.array.dtype == np.float32
    ds = dcmread(refs[0].path)
    slope = float(ds.PerFrameFunctionalGroupsSequence[0].PixelValueTransformationSequence[0].RescaleSlope)
    frame = vol.slices[0].frame
    expected = (ds.pixel_array[frame] * slope).astype(np.float32)
    assert np.array_equal(vol.array[0], expected)


def test_corrupt_slice_raises_decode_error(ct_refs, tmp_path: Path) -> None:
    before = _shm_names()
    refs = list(ct_refs[:6])
    bad = tmp_path / "bad"
    bad.write_bytes(Path(refs[3].path).read_bytes()[:20000])
    refs[3] = replace(refs[3], path=str(bad))
    for variant in (refs, _bare(refs)):
        with pytest.raises(DecodeError, match="bad"):
            load_volume(variant, workers=2)
    assert _shm_names() == before


def test_peak_memory_near_voxel_bytes(ct_refs) -> None:
    voxel_bytes = 140 * 512 * 512 * 2
    tracemalloc.start()
    try:
        vol = load_volume(ct_refs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert vol.array.nbytes == voxel_bytes
    assert peak <= 1.3 * voxel_bytes, peak / voxel_bytes


def test_raw_reads_equal_decoding_for_every_uncompressed_file(shared_data: Path) -> None:
    """The no-decode path (bytes at the file offset) gives pydicom's values: BA 8/16/32,
    signed, Bits Stored < Bits Allocated (sign extension), multi-frame offsets."""
    from app.dicom.codecs import decode_frame, read_dataset
    from app.dicom.pixels import rescale
    from app.dicom.series import slice_values
    from tests.core.pixel_helpers import data_files

    checked = set()
    for rel in data_files():
        try:
            refs = read_slice_refs(shared_data / rel)
        except DecodeError:
            continue
        for ref in refs[:3]:
            if not ref.raw_readable:
                continue
            try:
                stored = decode_frame(read_dataset(ref.path), ref.frame)
            except DecodeError:  # e.g. truncated pixel data: the raw read must refuse too
                with pytest.raises(DecodeError):
                    slice_values(ref)
                continue
            expected = rescale(stored, ref.rescale_slope, ref.rescale_intercept)
            assert np.array_equal(slice_values(ref), expected), (rel, ref.frame)
            checked.add((ref.bits_allocated, ref.pixel_representation, ref.bits_stored < ref.bits_allocated))
    assert {(8, 0, False), (16, 0, True), (16, 1, False), (16, 1, True), (32, 0, False)} <= checked
