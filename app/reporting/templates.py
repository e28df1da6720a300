"""Report templates (MRRT-style JSON in ``resources/templates``): loading, automatic choice, macros."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from app.reporting.model import SECTION_KEYS

FORMAT = "telerad-mrrt-json/1"
MACROS_FILE = "macros.json"
_MACRO_RE = re.compile(r"(?<![\w.])\.([a-z][a-z0-9_-]*)\b")


class TemplateError(Exception):
    """A template file that does not follow the documented format."""


@dataclass(frozen=True)
class Option:
    """One entry of a pick list; ``text`` is the phrase inserted into the report."""

    id: str
    label: str
    text: str


@dataclass(frozen=True)
class TemplateField:
    """An MRRT-style field: ``choice`` (pick list), ``text`` or ``number`` (with a UCUM ``unit``)."""

    id: str
    label: str
    type: str
    options: tuple[Option, ...] = ()
    default: str = ""
    unit: str = ""

    def default_text(self) -> str:
        """The line this field contributes to a fresh report."""
        if self.type == "choice":
            chosen = next((o for o in self.options if o.id == self.default), self.options[0])
            return f"{self.label}: {chosen.text}"
        if self.type == "number":
            value = self.default or "___"
            return f"{self.label}: {value} {self.unit}".rstrip()
        return f"{self.label}: {self.default}".rstrip()


@dataclass(frozen=True)
class TemplateSection:
    """A report section: fixed default text and/or fields rendered one per line."""

    id: str
    title: str
    default: str = ""
    fields: tuple[TemplateField, ...] = ()

    def default_text(self) -> str:
        """Default (normal) text of the section."""
        lines = [self.default] if self.default else []
        lines += [f.default_text() for f in self.fields]
        return "\n".join(lines)


@dataclass(frozen=True)
class Template:
    """A report template with its selection criteria, sections and macros."""

    id: str
    title: str
    version: str
    language: str
    modalities: tuple[str, ...]
    body_parts: tuple[str, ...]
    keywords: tuple[str, ...]
    sections: tuple[TemplateSection, ...]
    macros: Mapping[str, str] = field(default_factory=dict)

    def default_sections(self) -> dict[str, str]:
        """Initial text for every report section (sections the template omits start empty)."""
        by_id = {s.id: s.default_text() for s in self.sections}
        return {k: by_id.get(k, "") for k in SECTION_KEYS}

    def find_field(self, field_id: str) -> TemplateField:
        """Look up a field by id (KeyError if absent)."""
        for s in self.sections:
            for f in s.fields:
                if f.id == field_id:
                    return f
        raise KeyError(field_id)


def _require(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise TemplateError(f"{where}: missing '{key}'")
    return data[key]


def _field(d: Mapping[str, Any], where: str) -> TemplateField:
    kind = _require(d, "type", where)
    if kind not in ("choice", "text", "number"):
        raise TemplateError(f"{where}: unknown field type {kind!r}")
    options = tuple(Option(o["id"], o["label"], o["text"]) for o in d.get("options", ()))
    if kind == "choice" and (not options or (d.get("default") and d["default"] not in {o.id for o in options})):
        raise TemplateError(f"{where}: a choice needs options and a default among them")
    return TemplateField(_require(d, "id", where), _require(d, "label", where), kind, options,
                         str(d.get("default", "")), d.get("unit", ""))


def parse_template(data: Mapping[str, Any], where: str = "template") -> Template:
    """Validate and convert one decoded template document."""
    if data.get("format") != FORMAT:
        raise TemplateError(f"{where}: format must be {FORMAT!r}")
    sections = []
    for s in _require(data, "sections", where):
        sid = _require(s, "id", where)
        if sid not in SECTION_KEYS:
            raise TemplateError(f"{where}: unknown section {sid!r}")
        fields = tuple(_field(f, f"{where}/{sid}") for f in s.get("fields", ()))
        sections.append(TemplateSection(sid, s.get("title", sid), s.get("default", ""), fields))
    match = data.get("applies_to", {})
    return Template(
        id=_require(data, "id", where), title=_require(data, "title", where), version=str(data.get("version", "1")),
        language=data.get("language", "en"), modalities=tuple(m.upper() for m in match.get("modalities", ())),
        body_parts=tuple(b.upper() for b in match.get("body_parts", ())),
        keywords=tuple(k.lower() for k in match.get("keywords", ())), sections=tuple(sections),
        macros=dict(data.get("macros", {})),
    )


def templates_dir() -> Path:
    """``resources/templates`` of this installation."""
    from app.config import resources_dir

    return resources_dir() / "templates"


def load_templates(folder: Optional[Path] = None) -> dict[str, Template]:
    """Every ``*.json`` template in ``folder`` (default: the bundled ones), keyed by id."""
    folder = folder or templates_dir()
    out: dict[str, Template] = {}
    for path in sorted(folder.glob("*.json")):
        if path.name == MACROS_FILE:
            continue
        template = parse_template(json.loads(path.read_text(encoding="utf-8")), path.name)
        if template.id in out:
            raise TemplateError(f"{path.name}: duplicate template id {template.id!r}")
        out[template.id] = template
    return out


def load_macros(folder: Optional[Path] = None) -> dict[str, str]:
    """Global macros (``macros.json``): trigger word -> phrase."""
    path = (folder or templates_dir()) / MACROS_FILE
    return dict(json.loads(path.read_text(encoding="utf-8"))["macros"]) if path.is_file() else {}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def score(template: Template, modality: str, body_part: str, description: str) -> int:
    """0 if the modality does not match; otherwise 1 + 4 for the body part + 2 per description keyword."""
    if modality.upper() not in template.modalities:
        return 0
    points = 1 + (4 if body_part.upper() in template.body_parts else 0)
    words = _words(description)
    return points + 2 * sum(1 for k in template.keywords if set(k.split()) <= words)


def select_template(templates: Iterable[Template], modality: str, body_part: str = "",
                    description: str = "") -> Optional[Template]:
    """The best template for a study, or None when only the modality (or nothing) matches."""
    ranked = sorted(((score(t, modality, body_part, description), t.id, t) for t in templates),
                    key=lambda x: (-x[0], x[1]))
    return ranked[0][2] if ranked and ranked[0][0] > 1 else None


def expand_macros(text: str, *macro_sets: Mapping[str, str]) -> str:
    """Replace ``.trigger`` words by their phrase; later sets (e.g. template macros) win over earlier ones."""
    merged: dict[str, str] = {}
    for m in macro_sets:
        merged.update(m)
    return _MACRO_RE.sub(lambda m: merged.get(m.group(1), m.group(0)), text)

