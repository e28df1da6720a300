"""Templates: the six bundled ones load, are picked by modality + body part/description, macros expand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.reporting.model import SECTION_KEYS
from app.reporting.study_source import read_source, study_info
from app.reporting.templates import (
    TemplateError, expand_macros, load_macros, load_templates, parse_template, select_template, templates_dir,
)
from tests.core.report_fixtures import study_files

REQUIRED = {"ct-head", "ct-chest", "ct-abdomen-pelvis", "xr-chest", "mr-brain", "us-abdomen"}


@pytest.fixture(scope="module")
def templates() -> dict:
    return load_templates()


def test_bundled_templates_load_with_normal_text(templates: dict) -> None:
    assert REQUIRED <= set(templates)
    for t in templates.values():
        sections = t.default_sections()
        assert set(sections) == set(SECTION_KEYS)
        assert sections["findings"].strip() and sections["impression"].strip(), t.id
        choices = [f for s in t.sections for f in s.fields if f.type == "choice"]
        assert choices, f"{t.id} has no pick lists"
        for f in choices:  # the default option's phrase is in the fresh report
            default = next(o for o in f.options if o.id == f.default)
            assert default.text in sections["findings"] + sections["technique"], (t.id, f.id)


@pytest.mark.parametrize(("modality", "body_part", "description", "expected"), [
    ("CT", "BRAIN", "", "ct-head"),
    ("CT", "", "CT HEAD WO CONTRAST", "ct-head"),
    ("CT", "CHEST", "", "ct-chest"),
    ("CT", "", "CT THORAX PE PROTOCOL", "ct-chest"),
    ("CT", "ABDOMEN", "CT ABD PELVIS W CONTRAST", "ct-abdomen-pelvis"),
    ("CR", "CHEST", "", "xr-chest"),
    ("DX", "", "CHEST PA AND LATERAL", "xr-chest"),
    ("MR", "HEAD", "", "mr-brain"),
    ("US", "", "US ABDOMEN COMPLETE", "us-abdomen"),
    ("MR", "KNEE", "MR KNEE LEFT", None),
    ("PT", "CHEST", "", None),
])
def test_selection(templates: dict, modality: str, body_part: str, description: str, expected: str | None) -> None:
    chosen = select_template(templates.values(), modality, body_part, description)
    assert (chosen.id if chosen else None) == expected


def test_shared_ct_study_gets_ct_head(templates: dict, shared_data: Path) -> None:
    info = study_info(read_source(study_files(shared_data)[0]))
    chosen = select_template(templates.values(), info.modality, info.body_part, info.study_description)
    assert chosen is not None and chosen.id == "ct-head"


def test_macros(templates: dict) -> None:
    merged = (load_macros(), templates["ct-head"].macros)
    text = expand_macros("Brain: .nobleed Overall .nad Keep .unknown and e.g. x.nad", *merged)
    assert "No intracranial hemorrhage, mass effect or midline shift." in text
    assert "Overall No acute abnormality." in text
    assert ".unknown" in text and "x.nad" in text
    assert expand_macros(".nad", {"nad": "global"}, {"nad": "template"}) == "template"


def test_invalid_templates_are_rejected() -> None:
    good = json.loads((templates_dir() / "ct-head.json").read_text())
    parse_template(good)
    for broken in ({**good, "format": "other"},
                   {**good, "sections": [{"id": "bogus"}]},
                   {**good, "sections": [{"id": "findings", "fields": [{"id": "a", "label": "A", "type": "choice"}]}]},
                   {k: v for k, v in good.items() if k != "id"}):
        with pytest.raises(TemplateError):
            parse_template(broken)


def test_duplicate_ids_rejected(tmp_path: Path) -> None:
    text = (templates_dir() / "ct-head.json").read_text()
    (tmp_path / "a.json").write_text(text)
    (tmp_path / "b.json").write_text(text)
    with pytest.raises(TemplateError):
        load_templates(tmp_path)
