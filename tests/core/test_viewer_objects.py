"""Every image kind opens; GSPS LUT pipeline; SEG outlines; overlay planes; cine frame time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.viewer.display import frame_to_uint8
from app.viewer.frames import FrameSource
from app.viewer.series_data import series_from_files

KINDS = [
    "cr_dx/RG3_J2KR.dcm", "cr_dx/CR-ModalitySequenceLUT.dcm", "cr_dx/dx_image.dcm", "cr_dx/RG2_JPLY_fixed.dcm",
    "mg/GH133.dcm", "us/DIRW0007", "us/US1_UNCR.dcm", "us/gdcm-US-ALOKA-16.dcm", "us/OBXXXX1A.dcm",
    "pet_nm/GH184.dcm", "pet_nm/JPEG-LL.dcm", "ct/single/CT_small.dcm", "ct/single/eCT_Supplemental.dcm",
    "mr/enhanced_small/emri_small.dcm", "mr/single/MR-SIEMENS-DICOM-WithOverlays.dcm",
    "compressed/pydicom/SC_rgb_jpeg_dcmtk.dcm", "compressed/pydicom/SC_rgb_rle.dcm",
    "compressed/pydicom/JPEGLSNearLossless_16.dcm", "compressed/pydicom/ExplVR_BigEnd.dcm",
    "malformed/weasis/signed-raw-9bit.dcm", "pr_gsps/imageForPrLUTs.dcm",
]


@pytest.mark.parametrize("name", KINDS)
def test_every_image_kind_displays(shared_data: Path, name: str) -> None:
    info = series_from_files([shared_data / name])
    frames = FrameSource(info)
    last = info.frame_count - 1
    for index in sorted({0, last}):
        values = frames.get(index)
        out = np.empty(values.shape, np.uint8)
        frame_to_uint8(values, frames.params(index), None, False, out)
        assert out.shape[:2] == (info.refs[index].rows, info.refs[index].cols)
        assert out.std() > 0, f"{name} frame {index} displays as a flat image"
        assert (out.ndim == 3) == info.is_color


def test_enhanced_multiframe_is_a_volume_and_us_cine_has_frame_time(shared_data: Path) -> None:
    mr = series_from_files([next((shared_data / "mr/enhanced_philips").glob("*"))])
    assert mr.frame_count == 8
    us = series_from_files([shared_data / "us" / "DIRW0007"])
    assert us.frame_count == 65 and us.is_color
    assert us.frame_time_ms() == pytest.approx(38.1, abs=0.5)
    frames = FrameSource(us).load_all()
    assert frames.fully_loaded and not np.array_equal(frames.get(0), frames.get(30))


def test_gsps_lut_pipeline_unscrambles_the_test_image(shared_data: Path) -> None:
    from app.dicom.codecs import decode_frame, read_dataset
    from app.viewer.gsps import presentation_for

    image = read_dataset(shared_data / "pr_gsps" / "imageForPrLUTs.dcm")
    pr = read_dataset(shared_data / "pr_gsps" / "prLUTs.dcm")
    presentation = presentation_for(pr, image)
    assert presentation is not None and presentation.label
    stored = decode_frame(image)
    assert not np.all(np.diff(stored[100].astype(int)) >= 0)  # the stored image is scrambled...
    out = np.empty(stored.shape, np.uint8)
    presentation.render(stored.astype(np.int16), False, out)
    row = out[100].astype(int)
    assert np.all(np.diff(row) >= 0) and row[-1] - row[0] > 200  # ...its PR's three LUTs make a ramp
    other = read_dataset(shared_data / "ct/single/CT_small.dcm")
    assert presentation_for(pr, other) is None


def test_seg_outlines_land_on_referenced_ct(shared_data: Path) -> None:
    from app.dicom.codecs import read_dataset
    from app.viewer.seg import compose_rgba, outline, read_segmentation

    seg = read_segmentation(read_dataset(shared_data / "seg" / "seg_image_ct_binary.dcm"))
    assert len(seg.frames) == 3 and seg.colours
    sops = [str(read_dataset(f, stop_before_pixels=True).SOPInstanceUID)
            for f in sorted((shared_data / "media/pydicom_dicomdirtests/77654033/CT2").glob("*"))]
    hits = {sop: seg.masks_for(sop, None, (16, 16)) for sop in sops}
    assert sum(1 for found in hits.values() if found) == 3  # three of the four CT slices are segmented
    found = next(found for found in hits.values() if found)
    assert found[0].mask.any()
    layer = compose_rgba((16, 16), [], found, seg.colours)
    assert layer is not None and layer[..., 3].sum() == 255 * outline(found[0].mask).sum()
    square = np.zeros((6, 6), bool)
    square[1:5, 1:5] = True
    assert outline(square).sum() == 12


def test_overlay_planes_layer(shared_data: Path) -> None:
    from app.viewer.viewport_model import ViewportModel

    info = series_from_files([shared_data / "mr/single/MR-SIEMENS-DICOM-WithOverlays.dcm"])
    model = ViewportModel()
    model.set_series(info)
    layer = model.overlay_layer()
    assert layer is not None and layer[..., 3].any()
    model.show_overlays = False
    model._overlay_cache.clear()
    assert model.overlay_layer() is None
