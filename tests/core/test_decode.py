"""Decoding: fastest plugin per syntax, equality with pydicom, clean DecodeError on bad input."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from app.dicom.codecs import DecodeError, decode_all, decode_frame, plugin_order, read_dataset
from tests.core.pixel_helpers import LOSSY_DCT, MUST_FAIL, SHARED, data_files, reference_decode

REPO = Path(__file__).resolve().parents[2]
FILES = data_files()


@pytest.fixture(autouse=True)
def _quiet_pydicom():
    logging.getLogger("pydicom").setLevel(logging.CRITICAL)  # plugin failures are expected here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def test_shared_data_is_listed(shared_data: Path) -> None:
    assert len(FILES) > 400, "shared/data looks incomplete"


def test_nine_syntaxes_decode_to_identical_pixels(shared_data: Path) -> None:
    folder = shared_data / "compressed/dcm_qa_ts_same_mr_9_syntaxes"
    arrays = {p.name: decode_frame(p) for p in sorted(folder.glob("*.dcm"))}
    assert len(arrays) == 9
    syntaxes = {str(read_dataset(folder / n).file_meta.TransferSyntaxUID) for n in arrays}
    assert len(syntaxes) >= 6
    base = arrays["1.dcm"]
    for name, arr in arrays.items():
        assert arr.dtype == base.dtype and np.array_equal(arr, base), name


@pytest.mark.parametrize(
    "keyword, first",
    [
        ("JPEGLSLossless", "imagecodecs"),
        ("JPEGLosslessSV1", "imagecodecs"),
        ("JPEGLossless", "imagecodecs"),
        ("JPEGBaseline8Bit", "imagecodecs"),
        ("HTJ2KLossless", "imagecodecs"),
        ("JPEG2000Lossless", "imagecodecs"),
        ("RLELossless", "pylibjpeg"),
    ],
)
def test_fastest_plugin_first(keyword: str, first: str) -> None:
    from pydicom import uid

    order = plugin_order(getattr(uid, keyword))
    assert order[0] == first
    assert len(order) >= 2, "a fallback plugin must remain"


def _outcome(rel: str):
    try:
        ds = read_dataset(SHARED / rel)
    except DecodeError:
        return None, None
    return ds, ds.file_meta.get("TransferSyntaxUID")


@pytest.mark.parametrize("rel", FILES)
def test_every_file_decodes_like_pydicom_or_raises_decode_error(rel: str) -> None:
    path = SHARED / rel
    try:
        ours = decode_all(path)
    except DecodeError as exc:
        assert exc.reason
        ours = None
    if rel in MUST_FAIL:
        assert ours is None, f"{rel} should not decode"
        return
    ds, ts = _outcome(rel)
    if ds is None or not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        assert ours is None, "no pixel data must raise DecodeError"
        return
    try:
        ref = reference_decode(ds)
    except Exception:  # noqa: BLE001 - pydicom cannot decode: ours may do better, never crash
        return
    assert ours is not None, f"pydicom decodes {rel} but we raised"
    assert ours.shape == ref.shape and ours.dtype == ref.dtype.newbyteorder("=")
    if str(ts) in LOSSY_DCT:
        diff = np.abs(ours.astype(np.int32) - ref.astype(np.int32))
        assert diff.max() <= 8 and diff.mean() < 0.1, (diff.max(), diff.mean())
    else:
        assert np.array_equal(ours, ref)


@pytest.mark.parametrize("rel", [f for f in FILES if f.startswith(("compressed/", "cr_dx/", "mg/", "pet_nm/", "us/"))])
def test_imagecodecs_plugin_itself_matches(rel: str) -> None:
    """The fast plugin alone (no fallback) gives pydicom's pixels."""
    from pydicom.pixels.decoders.base import get_decoder

    ds, ts = _outcome(rel)
    if ds is None or ts is None or not ts.is_transfer_syntax or not ts.is_compressed:
        return
    try:  # importing pynetdicom registers syntaxes pydicom has no decoder for (Deflated Image Frame)
        decoder = get_decoder(ts)
    except NotImplementedError:
        return
    plugin_order(ts)
    if "imagecodecs" not in decoder.available_plugins:
        return
    fast = decoder.as_array(ds, decoding_plugin="imagecodecs")[0]
    ref = reference_decode(ds)
    tolerance = 8 if str(ts) in LOSSY_DCT else 0
    assert np.abs(fast.astype(np.int32) - ref.astype(np.int32)).max() <= tolerance


def test_fallback_when_fast_plugin_fails(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.dicom import _imagecodecs_plugin

    path = shared_data / "compressed/dcm_qa_ts_same_mr_9_syntaxes/7.dcm"  # JPEG-LS
    expected = decode_frame(path)

    def broken(src, runner):
        raise RuntimeError("simulated codec failure")

    monkeypatch.setattr(_imagecodecs_plugin, "_decode", broken)
    assert np.array_equal(decode_frame(path), expected)


def test_registration_is_lazy() -> None:
    code = (
        "import sys, app.dicom.codecs, app.dicom.pixels, app.dicom.render, app.dicom.volume\n"
        "import pydicom.pixels.decoders as d\n"
        "assert 'imagecodecs' not in sys.modules, 'imagecodecs imported at start-up'\n"
        "assert 'imagecodecs' not in d.JPEGLSLosslessDecoder.available_plugins\n"
        "from app.dicom.codecs import decode_frame\n"
        "decode_frame(sys.argv[1])\n"
        "assert d.JPEGLSLosslessDecoder.available_plugins and 'imagecodecs' in sys.modules\n"
    )
    path = SHARED / "compressed/dcm_qa_ts_same_mr_9_syntaxes/7.dcm"
    result = subprocess.run([sys.executable, "-c", code, str(path)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_garbage_and_truncated_files_raise_decode_error(tmp_path: Path, shared_data: Path) -> None:
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"\x00" * 128 + b"DICM" + bytes(range(256)) * 8)
    with pytest.raises(DecodeError):
        decode_frame(junk)
    src = (shared_data / "compressed/dcm_qa_ts_same_mr_9_syntaxes/7.dcm").read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(src[: len(src) * 2 // 3])
    with pytest.raises(DecodeError):
        decode_frame(cut)
    with pytest.raises(DecodeError, match="out of range"):
        decode_frame(shared_data / "ct/single/CT_small.dcm", frame=3)


def test_corrupted_codestream_raises_decode_error(tmp_path: Path, shared_data: Path) -> None:
    from pydicom import dcmread
    from pydicom.encaps import encapsulate, generate_frames

    for name in ("5.dcm", "7.dcm", "9.dcm"):
        ds = dcmread(shared_data / "compressed/dcm_qa_ts_same_mr_9_syntaxes" / name)
        frame = bytearray(next(generate_frames(ds.PixelData, number_of_frames=1)))
        frame[len(frame) // 3 : len(frame) // 3 + 64] = b"\xff" * 64
        ds.PixelData = encapsulate([bytes(frame[: len(frame) // 2])])
        try:
            arr = decode_frame(ds)
        except DecodeError as exc:
            assert exc.reason
        else:  # a tolerant decoder may return a damaged image, never a wrong shape
            assert arr.shape == (ds.Rows, ds.Columns)


def test_no_meta_file_decodes_with_inferred_syntax(shared_data: Path) -> None:
    arr = decode_frame(shared_data / "malformed/fo_dicom/CR-MONO1-10-chest")
    assert arr.shape == (440, 440) and arr.max() > 0
