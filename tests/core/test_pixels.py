"""Stored values -> modality values -> display: windows, LUTs, inversion, colour, overlays."""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.dicom.codecs import decode_frame, read_dataset
from app.dicom.overlays import burn_overlays, overlay_mask, read_overlays
from app.dicom.pixels import (
    display_params,
    grey_to_display,
    modality_values,
    to_display,
    voi_unit,
)


def _linear(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 LINEAR, written out independently of the implementation."""
    x = x.astype(np.float64)
    y = ((x - (centre - 0.5)) / (width - 1) + 0.5) * 255.0
    y[x <= centre - 0.5 - (width - 1) / 2] = 0
    y[x > centre - 0.5 + (width - 1) / 2] = 255
    return np.rint(y).astype(np.uint8)


def test_ct_window_40_80_matches_standard_formula(shared_data: Path) -> None:
    ds = read_dataset(shared_data / "ct/philips_phantom_study1_1mm/I10")
    stored = decode_frame(ds)
    hu = stored.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    out = to_display(ds, stored)
    assert out.dtype == np.uint8 and out.shape == stored.shape
    assert np.array_equal(out, _linear(hu, 40, 80))
    grey = grey_to_display(np.array([[1024 + 40, 1024 + 0, 1024 + 80]], np.uint16), display_params(ds))
    assert grey.tolist() == [[129, 0, 255]]  # 40 HU: (40 - 39.5) / 79 + 0.5 -> 0.506 * 255


def test_window_override_and_multi_valued_index(shared_data: Path) -> None:
    ds = read_dataset(shared_data / "mr/single/MR-SIEMENS-DICOM-WithOverlays.dcm")
    stored = decode_frame(ds)
    params = display_params(ds)
    assert params.windows == ((450.0, 790.0), (200.0, 443.0))
    assert np.array_equal(to_display(ds, stored, window_index=1), _linear(stored, 200, 443))
    assert np.array_equal(to_display(ds, stored, window=(100, 300)), _linear(stored, 100, 300))


def test_voi_functions() -> None:
    x = np.array([-100.0, 0.0, 50.0, 100.0, 200.0])
    assert np.allclose(voi_unit(x, (50, 100), "LINEAR_EXACT"), [0, 0, 0.5, 1, 1])
    sig = voi_unit(x, (50, 100), "SIGMOID")
    assert sig[2] == pytest.approx(0.5) and np.all(np.diff(sig) > 0) and 0 < sig[0] < sig[-1] < 1


def test_monochrome1_is_inverted(shared_data: Path) -> None:
    ds = read_dataset(shared_data / "cr_dx/RG3_J2KR.dcm")
    assert ds.PhotometricInterpretation == "MONOCHROME1"
    stored = decode_frame(ds)
    params = display_params(ds)
    inverted = grey_to_display(stored, params)
    normal = grey_to_display(stored, replace(params, photometric="MONOCHROME2"))
    assert np.array_equal(inverted.astype(int), 255 - normal.astype(int))
    assert inverted[stored == stored.min()].min() > inverted[stored == stored.max()].max()


def test_modality_lut_sequence_applied(shared_data: Path) -> None:
    from pydicom.pixels import apply_modality_lut

    ds = read_dataset(shared_data / "cr_dx/CR-ModalitySequenceLUT.dcm")
    stored = decode_frame(ds)
    params = display_params(ds)
    assert params.modality_lut is not None
    values = modality_values(stored, params)
    assert np.array_equal(values, apply_modality_lut(stored, ds))
    out = to_display(ds, stored)
    # no window in the header: min..max of the modality values spans the grey range
    assert out.min() == 0 and out.max() == 255
    assert out[values == values.max()].max() == 0  # MONOCHROME1: the highest value is black


def test_voi_lut_sequence_used(shared_data: Path) -> None:
    from pydicom import Dataset

    ds = read_dataset(shared_data / "ct/single/CT_small.dcm")
    for k in ("WindowCenter", "WindowWidth"):
        if k in ds:
            del ds[k]
    stored = decode_frame(ds)
    values = modality_values(stored, display_params(ds))  # the VOI LUT maps modality values
    lo = int(values.min())
    item = Dataset()
    item.LUTDescriptor = [256, lo & 0xFFFF, 8]
    item.LUTData = list(range(255, -1, -1))  # a reversing LUT: obviously used
    ds.VOILUTSequence = [item]
    out = to_display(ds, stored)
    assert out[values == lo].min() == 255
    assert out[values >= lo + 255].max() == 0


def test_palette_and_ybr_give_rgb(shared_data: Path) -> None:
    from pydicom.pixels import apply_color_lut

    for rel in ("us/OBXXXX1A.dcm", "us/gdcm-US-ALOKA-16.dcm"):
        ds = read_dataset(shared_data / rel)
        stored = decode_frame(ds)
        out = to_display(ds, stored)
        assert out.dtype == np.uint8 and out.shape == stored.shape + (3,)
        ref = apply_color_lut(stored, ds)
        if ref.dtype != np.uint8:
            ref = (ref >> 8).astype(np.uint8)
        assert np.array_equal(out, ref)
    ybr = read_dataset(shared_data / "compressed/pydicom_data/US1_J2KR.dcm")
    rgb = read_dataset(shared_data / "us/US1_UNCR.dcm")
    assert ybr.PhotometricInterpretation == "YBR_RCT"
    assert np.array_equal(to_display(ybr, decode_frame(ybr)), to_display(rgb, decode_frame(rgb)))
    jpeg = read_dataset(shared_data / "compressed/pydicom/SC_rgb_jpeg_dcmtk.dcm")
    raw = decode_frame(jpeg, as_rgb=False)
    converted = to_display(jpeg, raw, already_rgb=False)
    assert np.array_equal(converted, to_display(jpeg, decode_frame(jpeg)))
    assert np.abs(converted.astype(int) - raw.astype(int)).max() > 20  # really converted


def test_enhanced_per_frame_values(shared_data: Path) -> None:
    ds = read_dataset(shared_data / "mr/enhanced_philips/IM-0001-0170-0001.dcm")
    p0, p2 = display_params(ds, 0), display_params(ds, 2)
    fg = ds.PerFrameFunctionalGroupsSequence
    for frame, params in ((0, p0), (2, p2)):
        voi = fg[frame].FrameVOILUTSequence[0]
        pvt = fg[frame].PixelValueTransformationSequence[0]
        assert params.windows[0] == (float(voi.WindowCenter), float(voi.WindowWidth))
        assert params.slope == pytest.approx(float(pvt.RescaleSlope))
    assert p0.windows != p2.windows
    stored = decode_frame(ds, 2)
    values = stored * float(fg[2].PixelValueTransformationSequence[0].RescaleSlope)
    assert np.array_equal(to_display(ds, stored, 2), _linear(values, *p2.windows[0]))
    ect = read_dataset(shared_data / "ct/single/eCT_Supplemental.dcm")
    shared = ect.SharedFunctionalGroupsSequence[0].PixelValueTransformationSequence[0]
    assert "RescaleIntercept" not in ect
    assert display_params(ect, 1).intercept == float(shared.RescaleIntercept)


def test_float_and_32bit_data_display(shared_data: Path) -> None:
    ds = read_dataset(shared_data / "rt/rtdose.dcm")
    out = to_display(ds, decode_frame(ds))
    assert out.dtype == np.uint8 and out.min() == 0 and out.max() == 255


def test_window_level_is_fast(shared_data: Path) -> None:
    ds = read_dataset(shared_data / "ct/philips_phantom_study1_1mm/I10")
    stored, params = decode_frame(ds), display_params(ds)
    grey_to_display(stored, params)
    start = time.perf_counter()
    for _ in range(50):
        grey_to_display(stored, params, window=(40, 80))
    assert (time.perf_counter() - start) / 50 < 0.003  # ~0.3 ms measured; loose for shared CI


def test_overlay_plane_mask_and_burn(shared_data: Path) -> None:
    ds = read_dataset(shared_data / "mr/single/MR-SIEMENS-DICOM-WithOverlays.dcm")
    overlays = read_overlays(ds)
    assert len(overlays) == 1
    ov = overlays[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = ds.overlay_array(0x6000).astype(bool)
    assert ov.group == 0x6000 and ov.origin == (0, 0) and np.array_equal(ov.mask, expected)
    assert 0 < ov.mask.sum() < ov.mask.size // 10
    image = to_display(ds, decode_frame(ds))
    burned = burn_overlays(image, overlays)
    assert np.all(burned[ov.mask] == 255)
    assert np.array_equal(burned[~ov.mask], image[~ov.mask])
    shifted = replace(ov, origin=(10, 20))
    mask = overlay_mask(image.shape, [shifted])
    assert mask[10:, 20:].sum() == ov.mask[: image.shape[0] - 10, : image.shape[1] - 20].sum()
