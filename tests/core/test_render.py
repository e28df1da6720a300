"""render_png: default window, override, colour, overlays, refusal of non-images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.dicom.codecs import DecodeError, decode_frame, read_dataset
from app.dicom.pixels import to_display
from app.dicom.render import render_array, render_png


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im)


def test_ct_png_uses_header_window(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "ct/philips_phantom_study1_1mm/I10"
    render_png(src, tmp_path / "ct.png")
    png = _png(tmp_path / "ct.png")
    ds = read_dataset(src)
    assert png.shape == (512, 512) and np.array_equal(png, to_display(ds, decode_frame(ds)))
    render_png(src, tmp_path / "wide.png", window=(400, 2000))
    assert not np.array_equal(_png(tmp_path / "wide.png"), png)


def test_no_window_uses_min_max(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "cr_dx/CR-ModalitySequenceLUT.dcm"
    ds = read_dataset(src)
    assert "WindowCenter" not in ds and "VOILUTSequence" not in ds
    render_png(src, tmp_path / "cr.png")
    png = _png(tmp_path / "cr.png")
    assert png.min() == 0 and png.max() == 255


def test_multiframe_colour_png(shared_data: Path, tmp_path: Path) -> None:
    render_png(shared_data / "us/DIRW0007", tmp_path / "us.png", frame=10)
    png = _png(tmp_path / "us.png")
    assert png.shape == (456, 576, 3)
    assert np.array_equal(png, render_array(shared_data / "us/DIRW0007", frame=10))
    with pytest.raises(DecodeError, match="out of range"):
        render_png(shared_data / "us/DIRW0007", tmp_path / "x.png", frame=65)


def test_overlays_burned_when_asked(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "mr/single/MR-SIEMENS-DICOM-WithOverlays.dcm"
    plain, burned = render_array(src), render_array(src, overlays=True)
    changed = plain != burned
    assert changed.any() and np.all(burned[changed] == 255)


@pytest.mark.parametrize("rel", ["sr/sr_document.dcm", "pr_gsps/prLUTs.dcm", "doc_pdf/pdf.dcm"])
def test_non_images_raise(shared_data: Path, tmp_path: Path, rel: str) -> None:
    with pytest.raises(DecodeError, match="not an image"):
        render_png(shared_data / rel, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
