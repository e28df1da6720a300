"""Hanging protocols as rules: one test per default protocol, on a real cache (shared data where it has the kind
of study, small studies built here with the proper attributes where it does not), plus the rules file."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from app.hanging import (Match, Protocol, SeriesFacts, StudyFacts, ViewportRule, default_protocols, hang,
                         load_protocols, protocols_for, save_user_protocol)

MG_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"


# -- building studies ---------------------------------------------------------------------------
def _copy(template: Path, out: Path, *, study: str, series: str, patient: str = "HANG-1", date: str = "20260101",
          **attrs: Any) -> Path:
    """A copy of a real file with new UIDs (study/series given, SOP new) and the attributes given."""
    ds = pydicom.dcmread(template)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.PatientID, ds.StudyDate = patient, date
    for key, value in attrs.items():
        setattr(ds, key, value)
    out.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(out, enforce_file_format=True)
    return out


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "SCT", meaning
    return item


def _import(cache: Any, paths: list[Path]) -> None:
    from app.importer import import_paths

    import_paths(cache, paths)


def _plan(cache: Any, study_uid: str, with_priors: bool = True, user_file: Path | None = None) -> Any:
    from app.viewer.hang import content_and_plan

    _content, plan, notice = content_and_plan(cache, study_uid, with_priors, user_file)
    assert notice == ""
    return plan


def _series_of(cache: Any, study_uid: str) -> dict[str, str]:
    """description -> series UID."""
    return {s.description: s.series_instance_uid for s in cache.list_series(study_uid)}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory, shared_data: Path):  # type: ignore[no-untyped-def]
    from app.store import Cache

    c = Cache.open(tmp_path_factory.mktemp("hanging") / "cache")
    yield c
    c.close()


# -- CT head (shared data: the PLASTIC HEAD phantom, two studies) --------------------------------
def test_ct_head_with_prior_hangs_brain_and_stroke_windows(cache, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    ct = shared_data / "ct"
    _import(cache, [ct / "philips_phantom_study1_1mm", ct / "philips_phantom_study2_tilted"])
    studies = sorted((s for s in cache.list_studies() if s.patient_id == "PLASTIC"), key=lambda s: s.study_time)
    earlier, later = studies
    (cur,) = [s.series_instance_uid for s in cache.list_series(later.study_instance_uid) if s.modality == "CT"]
    (pri,) = [s.series_instance_uid for s in cache.list_series(earlier.study_instance_uid) if s.modality == "CT"]

    plan = _plan(cache, later.study_instance_uid)
    assert plan.protocol.name == "CT head with prior" and plan.layout == "2x2" and plan.protocol.sync
    assert [(c.series_uid, c.window) for c in plan.cells] == [(cur, "Brain"), (cur, "Stroke"),
                                                               (pri, "Brain"), (pri, "Stroke")]
    alone = _plan(cache, later.study_instance_uid, with_priors=False)
    assert alone.protocol.name == "CT head" and alone.layout == "1x2"
    assert [(c.series_uid, c.window) for c in alone.cells] == [(cur, "Brain"), (cur, "Stroke")]


# -- CT chest and abdomen (built from the shared CT_small slice) ---------------------------------
def test_ct_chest_lung_and_mediastinal_windows(cache, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src, study = shared_data / "ct" / "single" / "CT_small.dcm", generate_uid()
    files = [_copy(src, tmp_path / f"{i}.dcm", study=study, series=generate_uid(), patient="CHEST-1",
                   BodyPartExamined="CHEST", SeriesDescription=desc, SeriesNumber=i + 1, StudyDescription="CT THORAX")
             for i, desc in enumerate(("Topogram 0.6 T20s", "MEDIASTINUM 3.0 B30f", "LUNG 1.0 B70f"))]
    _import(cache, files)
    uids = _series_of(cache, study)
    plan = _plan(cache, study)
    assert plan.protocol.name == "CT chest" and plan.layout == "1x2" and plan.protocol.reference_lines
    assert [(c.series_uid, c.window) for c in plan.cells] == [(uids["LUNG 1.0 B70f"], "Lung"),
                                                               (uids["MEDIASTINUM 3.0 B30f"], "Mediastinum")]


def test_ct_abdomen_alone_and_with_prior(cache, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = shared_data / "ct" / "single" / "CT_small.dcm"
    old, new = generate_uid(), generate_uid()
    files = []
    for study, date in ((old, "20250301"), (new, "20260301")):
        for i, desc in enumerate(("AX PORTAL VENOUS 3mm", "COR 3mm")):
            files.append(_copy(src, tmp_path / f"{study[-6:]}_{i}.dcm", study=study, series=generate_uid(),
                               patient="ABD-1", date=date, BodyPartExamined="ABDOMEN", SeriesDescription=desc,
                               SeriesNumber=i + 1))
    _import(cache, files[:2])  # the older study alone first: no prior yet
    plan = _plan(cache, old)
    uids_old = _series_of(cache, old)
    assert plan.protocol.name == "CT abdomen"
    assert [(c.series_uid, c.window) for c in plan.cells] == [(uids_old["AX PORTAL VENOUS 3mm"], "Abdomen"),
                                                               (uids_old["COR 3mm"], "Abdomen")]
    _import(cache, files[2:])
    plan = _plan(cache, new)
    assert plan.protocol.name == "CT abdomen with prior"
    assert [(c.series_uid, c.role, c.window) for c in plan.cells] == [
        (_series_of(cache, new)["AX PORTAL VENOUS 3mm"], "current", "Abdomen"),
        (uids_old["AX PORTAL VENOUS 3mm"], "prior", "Abdomen")]


# -- MR brain (shared: the Siemens MPRAGE; built: T1/T2/FLAIR/DWI/ADC from MR_small) ----------------
def test_mr_brain_by_series_description(cache, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _import(cache, [shared_data / "mr" / "siemens_sag_t1_3yo_192slices"])
    (real,) = [s for s in cache.list_studies() if "MR" in s.modalities and s.body_part == "BRAIN"]
    plan = _plan(cache, real.study_instance_uid)
    (t1,) = cache.list_series(real.study_instance_uid)
    assert plan.protocol.name == "MR brain" and plan.layout == "2x2"
    assert [c.series_uid for c in plan.cells] == [t1.series_instance_uid, None, None, None]  # no T2/FLAIR/DWI: empty

    src, study = shared_data / "mr" / "single" / "MR_small.dcm", generate_uid()
    names = ("ep2d_diff_3scan_trace", "ep2d_diff_ADC", "t2_tirm_tra_dark-fluid FLAIR", "t2_tse_tra", "t1_mprage_sag")
    _import(cache, [_copy(src, tmp_path / f"{i}.dcm", study=study, series=generate_uid(), patient="MRB-1",
                          BodyPartExamined="HEAD", SeriesDescription=d, SeriesNumber=i + 1) for i, d in enumerate(names)])
    uids = _series_of(cache, study)
    plan = _plan(cache, study)
    assert plan.protocol.name == "MR brain"
    assert [c.series_uid for c in plan.cells] == [uids["t1_mprage_sag"], uids["t2_tse_tra"],
                                                  uids["t2_tirm_tra_dark-fluid FLAIR"], uids["ep2d_diff_3scan_trace"]]


# -- screening mammography (shared: GH133 R MLO; built: 4 views now and a year ago) --------------------
def _mammo(src: Path, folder: Path, study: str, date: str, one_series: bool) -> dict[str, str]:
    """Four views (RCC, LCC, RMLO, LMLO); the LCC stored the other way round (needs mirroring)."""
    series = generate_uid()
    views = {"RCC": ("R", "CC", "P\\L"), "LCC": ("L", "CC", "P\\R"), "RMLO": ("R", "MLO", "P\\FL"),
             "LMLO": ("L", "MLO", "A\\FR")}
    sops = {}
    for i, (name, (lat, view, orient)) in enumerate(views.items()):
        attrs: dict[str, Any] = {"Modality": "MG", "SOPClassUID": MG_FOR_PRESENTATION, "ImageLaterality": lat,
                                 "PatientOrientation": orient, "InstanceNumber": i + 1, "BodyPartExamined": "BREAST"}
        if view == "CC":
            attrs["ViewPosition"] = "CC"
        else:  # the view only in the View Code Sequence (no ViewPosition)
            attrs["ViewCodeSequence"] = [_code("399368009", "medio-lateral oblique")]
        path = _copy(src, folder / f"{study[-6:]}_{name}.dcm", study=study,
                     series=series if one_series else generate_uid(), patient="MG-1", date=date, **attrs)
        sops[name] = pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID
    return sops


def test_screening_mammography_four_up_back_to_back_priors_next_page(cache, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _import(cache, [shared_data / "mg" / "GH133.dcm"])
    (real,) = [s for s in cache.list_studies() if "MG" in s.modalities]
    plan = _plan(cache, real.study_instance_uid)
    gh133 = pydicom.dcmread(shared_data / "mg" / "GH133.dcm", stop_before_pixels=True)
    assert plan.protocol.name == "Screening mammography" and plan.layout == "2x2"
    assert [c.sop_uid for c in plan.cells] == ["", "", gh133.SOPInstanceUID, ""]  # R MLO: bottom left
    assert not plan.cells[2].flip  # rows run to P: the chest wall is already on the right

    src = shared_data / "ct" / "single" / "CT_small.dcm"
    now = generate_uid()
    prior = _mammo(src, tmp_path, generate_uid(), "20250110", one_series=False)  # Hologic style: series per view
    current = _mammo(src, tmp_path, now, "20260112", one_series=True)  # GE style: one series
    _import(cache, sorted(tmp_path.glob("*.dcm")))
    plan = _plan(cache, now)
    assert plan.protocol.name == "Screening mammography with prior" and plan.protocol.mirror
    assert len(plan.pages) == 2
    order = ["RCC", "LCC", "RMLO", "LMLO"]
    assert [c.sop_uid for c in plan.pages[0]] == [current[v] for v in order]
    assert [c.sop_uid for c in plan.pages[1]] == [prior[v] for v in order]
    assert [c.flip for c in plan.pages[0]] == [False, True, False, False]  # the LCC stored facing left: mirrored
    assert {c.role for c in plan.pages[1]} == {"prior"}


# -- CR/DX chest (shared: the highdicom DX chest; built: its prior) ---------------------------------
def test_chest_radiograph_current_and_prior(cache, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = shared_data / "cr_dx" / "dx_image.dcm"
    _import(cache, [src])
    ds = pydicom.dcmread(src, stop_before_pixels=True)
    plan = _plan(cache, ds.StudyInstanceUID)
    assert plan.protocol.name == "Chest radiograph" and plan.layout == "1x1"
    assert plan.cells[0].series_uid == ds.SeriesInstanceUID
    prior_study, prior_series = generate_uid(), generate_uid()
    _import(cache, [_copy(src, tmp_path / "prior.dcm", study=prior_study, series=prior_series,
                          patient=str(ds.PatientID), date="20190125")])
    plan = _plan(cache, ds.StudyInstanceUID)
    assert plan.protocol.name == "Chest radiograph with prior" and plan.layout == "1x2"
    assert [(c.series_uid, c.role) for c in plan.cells] == [(ds.SeriesInstanceUID, "current"), (prior_series, "prior")]


# -- the rules file --------------------------------------------------------------------------------
def test_user_rules_come_first_and_age_of_priors_counts(cache, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (plastic, *_), user = [s for s in cache.list_studies() if s.patient_id == "PLASTIC"], tmp_path / "user.json"
    mine = Protocol("My head", Match(modality="CT", body_part="^brain$", min_priors=1, max_prior_age_days=30),
                    "1x2", [ViewportRule(window="Bone"), ViewportRule(role="prior", window="Bone")], sync=False)
    save_user_protocol(user, mine)
    assert load_protocols(user) == [mine]
    assert json.loads(user.read_text())["version"] == 1
    plan = _plan(cache, plastic.study_instance_uid, user_file=user)  # the prior is the same day: counted
    assert plan.protocol.name == "My head" and [c.window for c in plan.cells] == ["Bone", "Bone"]
    mine.match.max_prior_age_days, mine.match.min_priors = -1, 1  # no prior is that recent: rule skipped
    save_user_protocol(user, mine)
    assert _plan(cache, plastic.study_instance_uid, user_file=user).protocol.name == "CT head with prior"


def test_a_bad_user_file_is_reported_and_the_defaults_still_hang(tmp_path: Path) -> None:
    user = tmp_path / "hanging_protocols.json"
    user.write_text(json.dumps({"version": 1, "protocols": [{"name": "x", "layout": "9x9"}]}))
    protocols, notice = protocols_for(user)
    assert "9x9" in notice and [p.name for p in protocols] == [p.name for p in default_protocols()]
    user.write_text(json.dumps({"protocols": [{"name": "x", "viewports": [{"series_description": "t2("}]}]}))
    assert "bad pattern" in protocols_for(user)[1]
    user.write_text(json.dumps({"protocols": [{"name": "x", "colour": "red"}]}))
    assert "unknown key(s) colour" in protocols_for(user)[1]
    save_user_protocol(user, Protocol("ok", layout="1x2"))  # the bad file is kept aside, not lost
    assert (tmp_path / "hanging_protocols.json.bad").is_file() and [p.name for p in load_protocols(user)] == ["ok"]


def test_a_protocol_saved_by_the_older_viewer_still_loads(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps([{"name": "Head bone", "modalities": ["CT"], "body_part": "HEAD", "layout": "1x2",
                                "viewports": [{"prior": 0, "modality": "CT", "description": "bone", "index": 0},
                                              {"prior": 1, "modality": "CT", "description": "", "index": 0}],
                                "sync": True}]))
    (p,) = load_protocols(old)
    assert p.layout == "1x2" and p.match.modality == "CT" and [v.role for v in p.viewports] == ["current", "prior"]


@pytest.mark.parametrize("body, said", [
    ({"name": "x", "match": {"min_priors": "two"}}, "min_priors must be a whole number"),
    ({"name": "x", "sync": "yes"}, "sync must be true or false"),
    ({"name": "x", "viewports": [{"window": 3}]}, "window must be text"),
    ({"name": "x", "viewports": [{"role": "previous"}]}, "role must be current or prior"),
    ({"layout": "2x2"}, "needs a name"),
])
def test_wrong_values_in_the_rules_file_are_named(tmp_path: Path, body: dict, said: str) -> None:
    user = tmp_path / "hanging_protocols.json"
    user.write_text(json.dumps({"version": 1, "protocols": [body]}))
    assert said in protocols_for(user)[1]


def test_a_same_day_limit_survives_the_round_trip(tmp_path: Path) -> None:
    p = Protocol("same day", Match(modality="CT", max_prior_age_days=0), "1x2", [ViewportRule(fallback=False)])
    save_user_protocol(tmp_path / "u.json", p)
    assert load_protocols(tmp_path / "u.json") == [p]


# -- facts alone: user rules by series description, --layout and --series of `telerad screenshot` -----
def _head(uid: str, date: str, *series: tuple[str, str]) -> StudyFacts:
    return StudyFacts(uid, date, "", ("CT",), "HEAD", [SeriesFacts(u, "CT", d) for u, d in series])


def test_layouts_and_a_user_rule_picking_a_series_by_description(tmp_path: Path) -> None:
    from app.viewer.layout import parse_layout

    assert parse_layout("2x3") == (2, 3)
    with pytest.raises(ValueError):
        parse_layout("banana")
    current, prior = _head("cur", "20260102", ("c1", "brain"), ("c2", "bone")), _head("pri", "20260101", ("p1", "brain"))
    plan = hang(default_protocols(), current, [prior])
    assert [c.series_uid for c in plan.cells] == ["c1", "c1", "p1", "p1"]  # current first, the prior below
    user = tmp_path / "hanging_protocols.json"
    save_user_protocol(user, Protocol("Head bone", Match(modality="CT", body_part="head"), "1x2",
                                      [ViewportRule(modality="CT", series_description="bone"),
                                       ViewportRule(role="prior", modality="CT")]))
    protocols, notice = protocols_for(user)
    plan = hang(protocols, current, [prior])
    assert notice == "" and plan.protocol.name == "Head bone" and plan.layout == "1x2"
    assert [c.series_uid for c in plan.cells] == ["c2", "p1"]
    mammo = StudyFacts("mg", "20260101", "", ("MG",), "BREAST", [SeriesFacts("m1", "MG")])
    assert hang(protocols, mammo).layout == "2x2"


def test_screenshot_layout_and_given_series_reshape_the_plan() -> None:
    from app.viewer.hang import given_series_plan, relayout
    from app.viewer.loading import StudyContent

    current, prior = _head("cur", "20260102", ("c1", "brain"), ("c2", "bone")), _head("pri", "20260101", ("p1", "brain"))
    plan = hang(default_protocols(), current, [prior])
    assert relayout(plan, None) is plan and relayout(plan, "2x2") is plan
    wide = relayout(plan, "1x2")
    assert wide.layout == "1x2" and [(c.series_uid, c.window) for c in wide.cells] == [("c1", "Brain"), ("c1", "Stroke")]
    big = relayout(plan, "2x3")
    assert [c.series_uid for c in big.cells] == ["c1", "c1", "p1", "p1", None, None] and len(big.pages) == 1
    content = StudyContent("cur", [SimpleNamespace(series_instance_uid=u) for u in ("c1", "c2", "c3")])
    given = given_series_plan(content, ["c3"])
    assert given.layout == "1x1" and [c.series_uid for c in given.cells] == ["c3"]
    given = given_series_plan(content, ["c2", "c3"], "2x2")
    assert [c.series_uid for c in given.cells] == ["c2", "c3", "c1", None] and given.cells[0].window == ""
    with pytest.raises(LookupError, match="not in study: nope"):
        given_series_plan(content, ["nope"])
