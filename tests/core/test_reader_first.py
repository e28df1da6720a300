"""Reader first without a window: a series being retrieved is shown with a grey placeholder per slice still
coming, images that arrived lossy-compressed are marked LOSSY, and the worklist says "N of M" from the index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.uid import generate_uid

from app.config import Paths
from app.store import Cache
from app.viewer.series_data import ARRIVING, progressive_series, series_from_records
from app.viewer.viewport_model import ViewportModel
from app.workstation import Workstation
from tests.core.net_peers import study_in


@pytest.fixture
def cache(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Cache.open(tmp_path / "cache") as c:
        yield c


def _halves(shared_data: Path) -> tuple[str, list[Path], list[tuple[str, int]]]:
    """The tilted CT split: (series UID, every other slice's file, the others' (SOP UID, instance number))."""
    study = study_in(shared_data / "ct" / "philips_phantom_study2_tilted")
    missing, cached, series = [], [], ""
    for path in study.files:
        ds = dcmread(path, stop_before_pixels=True)
        series = ds.SeriesInstanceUID
        if int(ds.InstanceNumber) % 2:
            missing.append((ds.SOPInstanceUID, int(ds.InstanceNumber)))
        else:
            cached.append(path)
    return series, cached, missing


def _half_cached(cache: Cache, shared_data: Path) -> tuple[str, list[tuple[str, int]]]:
    series, cached, missing = _halves(shared_data)
    for path in cached:
        assert cache.store_bytes(path.read_bytes()).status == "imported"
    return series, missing


def test_missing_slices_are_grey_placeholders_in_instance_order(cache: Cache, shared_data: Path) -> None:
    series, missing = _half_cached(cache, shared_data)
    records = cache.list_instances(series)
    info = progressive_series(records, missing)
    assert info.frame_count == 54 and not info.is_volume and len(info.extra[ARRIVING]) == len(missing) == 27
    model = ViewportModel()
    model.set_series(info)
    placeholder = next(i for i in range(info.frame_count) if i in info.extra[ARRIVING])
    model.state.set_frame(placeholder)
    assert model.frame_error() == f"slice {placeholder + 1} \u2014 arriving"
    buf = np.zeros(model.display_shape(), np.uint8)
    model.render_into(buf)
    assert (buf == 56).all()  # grey, not the black of a broken image
    assert "Im:" in model.corner_text(model.current_window()).bottom_left  # overlays still work
    model.state.set_frame(placeholder + 1)
    assert model.frame_error() is None and model.values().std() > 0
    complete = progressive_series(records, [])  # nothing pending: the plain series (a volume when it is one)
    assert ARRIVING not in complete.extra and complete.sop_uids == series_from_records(records).sop_uids
    ended = progressive_series(records, missing, state="not retrieved")
    assert ended.extra[ARRIVING][placeholder].endswith("not retrieved")


def _lossy_without_the_flag(shared_data: Path, tmp_path: Path) -> Path:
    ds = dcmread(shared_data / "compressed" / "pydicom" / "JPGExtended.dcm")
    del ds.LossyImageCompression  # only the transfer syntax says it
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    out = tmp_path / "lossy.dcm"
    ds.save_as(out)
    return out


@pytest.mark.parametrize("name, lossy", [("lossy-ts", True), ("MR_small_jpeg_ls_lossless.dcm", False),
                                         ("JPEG2000.dcm", True)])
def test_lossy_images_are_marked(cache: Cache, shared_data: Path, tmp_path: Path, name: str, lossy: bool) -> None:
    path = _lossy_without_the_flag(shared_data, tmp_path) if name == "lossy-ts" else \
        shared_data / "compressed" / "pydicom" / name
    outcome = cache.store_bytes(path.read_bytes())
    assert outcome.status == "imported"
    series = dcmread(path, stop_before_pixels=True).SeriesInstanceUID
    model = ViewportModel()
    model.set_series(series_from_records(cache.list_instances(series)))
    text = model.corner_text(model.current_window()).bottom_right
    assert ("LOSSY" in text) is lossy and text.count("LOSSY") <= 1


def _entry(ws: Workstation, uid: str):  # type: ignore[no-untyped-def]
    return next(e for e in ws.worklist_entries() if e.study_instance_uid == uid)  # a listing: from the index


def test_the_worklist_says_n_of_m_from_the_index(tmp_path: Path, shared_data: Path) -> None:
    with Workstation(Paths(tmp_path / "home", tmp_path / "home" / "config"), "dr.test") as ws:
        _series, cached, _missing = _halves(shared_data)
        ws.import_paths(cached)
        uid = ws.cache.list_studies()[0].study_instance_uid
        assert _entry(ws, uid).incomplete == ""
        ws.cache.mark_study_incomplete(uid, 54, "retrieve from pacs interrupted")
        assert _entry(ws, uid).incomplete == "27 of 54"
        ws.cache.mark_study_incomplete(uid, None, "cancelled")
        assert _entry(ws, uid).incomplete == "incomplete"
        ws.cache.clear_study_incomplete(uid)
        assert _entry(ws, uid).incomplete == ""
