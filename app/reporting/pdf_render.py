"""Render a report to PDF with reportlab: letterhead, patient/study header, sections, key images, signature."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from app.reporting.letterhead import Letterhead
from app.reporting.model import SECTION_KEYS, SECTION_TITLES, Report, ReportKind, ReportState

UNIT_DISPLAY = {"[hnsf'U]": "HU", "mm2": "mm²", "cm2": "cm²", "mm3": "mm³", "cm3": "cm³", "mL": "ml", "%": "%"}
_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "C:/Windows/Fonts/arial.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
)


def format_person_name(pn: str) -> str:
    """DICOM PN ``Family^Given^Middle^Prefix^Suffix`` -> ``Family, Given Middle``."""
    parts = [p.strip() for p in pn.split("=")[0].split("^")]
    family, rest = parts[0], " ".join(p for p in parts[1:3] if p)
    return f"{family}, {rest}" if rest else family


def format_da(value: str) -> str:
    """``YYYYMMDD`` -> ``YYYY-MM-DD`` (other values unchanged)."""
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 and value.isdigit() else value


def _fonts(letterhead: Letterhead) -> tuple[str, str]:
    """(regular, bold) font names; a Unicode TTF when available, else Helvetica (Latin-1 only)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for candidate in (letterhead.font_ttf, *_FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            if "ReportFont" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("ReportFont", candidate))
                bold = Path(candidate).with_name(Path(candidate).stem + "-Bold.ttf")
                pdfmetrics.registerFont(TTFont("ReportFont-Bold", str(bold) if bold.is_file() else candidate))
            return "ReportFont", "ReportFont-Bold"
    return "Helvetica", "Helvetica-Bold"


def _para(text: str, style: Any) -> Any:
    from reportlab.platypus import Paragraph

    return Paragraph(escape(text).replace("\n", "<br/>") or "&nbsp;", style)


def _styles(letterhead: Letterhead) -> dict[str, Any]:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    regular, bold = _fonts(letterhead)
    body = ParagraphStyle("body", fontName=regular, fontSize=10, leading=13.5)
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10, textColor=colors.grey),
        "h1": ParagraphStyle("h1", parent=body, fontName=bold, fontSize=15, leading=19),
        "h2": ParagraphStyle("h2", parent=body, fontName=bold, fontSize=11, leading=15, spaceBefore=8),
        "bold": ParagraphStyle("bold", parent=body, fontName=bold),
        "alert": ParagraphStyle("alert", parent=body, fontName=bold, textColor=colors.HexColor("#b00020")),
    }


def _letterhead(lh: Letterhead, st: dict[str, Any]) -> list[Any]:
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Table

    lines = [_para(lh.institution, st["h1"]), _para(lh.department, st["body"])]
    lines += [_para(x, st["small"]) for x in (lh.address, " · ".join(v for v in (lh.phone, lh.email) if v)) if x]
    logo = Image(lh.logo_png, width=30 * mm, height=15 * mm, kind="proportional") if lh.logo_png else ""
    return [Table([[lines, logo]], colWidths=[140 * mm, 35 * mm], style=[("VALIGN", (0, 0), (-1, -1), "TOP")])]


def _header(report: Report, st: dict[str, Any]) -> Any:
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Table

    s = report.study
    rows = [
        ("Patient", format_person_name(s.patient_name), "Study date", format_da(s.study_date)),
        ("Patient ID", s.patient_id, "Accession", s.accession),
        ("Birth date", format_da(s.birth_date), "Modality", s.modality),
        ("Sex", s.sex, "Referring", format_person_name(s.referring)),
        ("Study", s.study_description, "Institution", s.institution),
    ]
    data = [[_para(a, st["bold"]), _para(b, st["body"]), _para(c, st["bold"]), _para(d, st["body"])]
            for a, b, c, d in rows]
    return Table(data, colWidths=[27 * mm, 60 * mm, 28 * mm, 60 * mm], style=[
        ("BOX", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f4f6f8"))])


def _key_image_png(path: str) -> "bytes | None":
    """The PNG bytes of a key image (encrypted at rest or not); None when it is gone or does not decrypt."""
    from app.crypto import DecryptError, read_stored

    if not path or not Path(path).is_file():
        return None
    try:
        return read_stored(path)
    except (OSError, DecryptError):
        return None


def _key_images(report: Report, st: dict[str, Any]) -> list[Any]:
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Table

    cells = []
    for k in report.key_images:
        png = _key_image_png(k.png_path)
        img = Image(io.BytesIO(png), width=40 * mm, height=40 * mm, kind="proportional") \
            if png is not None else _para("(image unavailable)", st["small"])
        cells.append([img, _para(k.caption, st["small"])])
    if not cells:
        return []
    rows = [cells[i:i + 4] + [""] * (4 - len(cells[i:i + 4])) for i in range(0, len(cells), 4)]
    return [_para("Key images", st["h2"]), Table(rows, colWidths=[44 * mm] * 4)]


def _body(report: Report, st: dict[str, Any]) -> list[Any]:
    from reportlab.platypus import Spacer

    out: list[Any] = [Spacer(1, 6)]
    if report.kind == ReportKind.ADDENDUM:
        out += [_para("ADDENDUM", st["alert"]), _para(report.addendum_note, st["body"])]
    if report.critical:
        out.append(_para(f"CRITICAL FINDING: {report.critical_text}", st["alert"]))
        out += [_para(f"Communicated to {n.recipient} by {n.method} at {n.communicated_at} "
                      f"(recorded by {format_person_name(n.recorded_by)}). {n.note}".strip(), st["body"])
                for n in report.notices]
    for key in SECTION_KEYS:
        text = report.sections.get(key, "")
        if text.strip():
            out += [_para(SECTION_TITLES[key], st["h2"]), _para(text, st["body"])]
    if report.measurements:
        out.append(_para("Measurements", st["h2"]))
        out += [_para(f"{m.label}: {m.value:g} {UNIT_DISPLAY.get(m.unit, m.unit)}", st["body"])
                for m in report.measurements]
    return out + _key_images(report, st)


def _signature(report: Report, st: dict[str, Any]) -> list[Any]:
    from reportlab.platypus import Spacer

    if report.state != ReportState.FINAL:
        return [Spacer(1, 12), _para(f"{report.state.upper()} REPORT - NOT SIGNED", st["alert"])]
    return [Spacer(1, 14), _para(f"Electronically signed by {format_person_name(report.signer_name)}", st["bold"]),
            _para(f"Signed at {report.signed_at} (UTC)", st["body"]),
            _para(f"Content hash {report.content_hash}; report {report.id}", st["small"]),
            _para("This document carries a PAdES digital signature; any modification invalidates it.", st["small"])]


def render_pdf(report: Report, letterhead: Letterhead) -> bytes:
    """The report as PDF bytes (A4)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer

    st = _styles(letterhead)
    footer = f"{format_person_name(report.study.patient_name)} · {report.study.patient_id} · report {report.id}"

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.setFont(st["small"].fontName, 7.5)
        canvas.drawString(18 * mm, 10 * mm, footer)
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"page {doc.page}")

    buf = io.BytesIO()
    title = "Radiology report addendum" if report.kind == ReportKind.ADDENDUM else "Radiology report"
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
                            bottomMargin=18 * mm, title=title, author=report.signer_name or letterhead.institution,
                            subject=report.study.study_description, creator="Telerad Workstation")
    story = _letterhead(letterhead, st) + [Spacer(1, 6), _para(title, st["h1"]), Spacer(1, 4), _header(report, st)]
    doc.build(story + _body(report, st) + _signature(report, st), onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()
