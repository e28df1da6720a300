"""`telerad report ...`: headless reporting -- draft, show, critical, sign, addendum, verify, templates.

    telerad report draft STUDY_UID [--template NAME] [--text-file F] [--critical TEXT]
    telerad report show STUDY_UID [--json]
    telerad report critical STUDY_UID (--set TEXT | --clear) [--told WHO --method HOW [--role R] [--read-back]
        [--when ISO]]
    telerad report sign STUDY_UID --p12 FILE [--password-file F] [--node NAME]   (prompts without a file)
        [--communicated-to WHO --via HOW [--role ROLE] [--read-back] [--when ISO]] [--confirm-normal-text]
        [--preliminary | --review none|minor|major [--review-note TEXT]]   (a preliminary read, or finalising one)
        (a critical report is refused until its communication is recorded)
    telerad report addendum STUDY_UID --text-file F [--note TEXT]
    telerad report verify FILE [--ca CA.pem ...] [--json]   (signed PDF, Encapsulated PDF or SR)
    telerad report templates
    telerad report export STUDY_UID DIR   (the signed files, decrypted, checked against their signing hash)
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from app.cli.context import paths, workstation

if TYPE_CHECKING:
    from app.reporting.model import CriticalNotice, Report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    subs = parser.add_subparsers(dest="report_command", metavar="ACTION", required=True)
    p = subs.add_parser("draft", help="create or update the study's draft report")
    p.add_argument("study_uid", metavar="STUDY_UID")
    p.add_argument("--template", metavar="NAME", help="template id (default: chosen by modality and body part)")
    p.add_argument("--text-file", metavar="F", type=Path, help="text with section headings (Findings:, ...)")
    p.add_argument("--critical", metavar="TEXT", help="flag the draft critical with this finding")
    p = subs.add_parser("export", help="copy the study's signed report files (PDF, SR) out of the data folder")
    p.add_argument("study_uid", metavar="STUDY_UID")
    p.add_argument("destination", metavar="DIR", type=Path)
    p = subs.add_parser("show", help="print the study's report, critical notices and delivery state")
    p.add_argument("study_uid", metavar="STUDY_UID")
    p.add_argument("--json", action="store_true")
    p = subs.add_parser("critical", help="flag a critical finding and record who was told")
    p.add_argument("study_uid", metavar="STUDY_UID")
    flag = p.add_mutually_exclusive_group()
    flag.add_argument("--set", metavar="TEXT", help="flag the open report critical with this description")
    flag.add_argument("--clear", action="store_true", help="remove the critical flag (unsigned reports only)")
    p.add_argument("--told", metavar="WHO", help="who was told")
    p.add_argument("--method", metavar="HOW", default="phone", help="how (phone, in person, secure message)")
    p.add_argument("--role", metavar="ROLE", default="", help="the recipient's role (e.g. ED physician)")
    p.add_argument("--read-back", action="store_true", help="the recipient read the finding back")
    p.add_argument("--when", metavar="ISO", help="when (ISO 8601; default now)")
    p = subs.add_parser("sign", help="sign the open report: signed PDF, DICOM SR, encapsulated PDF, outbox")
    p.add_argument("study_uid", metavar="STUDY_UID")
    p.add_argument("--p12", metavar="FILE", type=Path, required=True, help="PKCS#12 with key and certificate")
    p.add_argument("--password-file", metavar="F", type=Path, help="file holding the PKCS#12 password")
    p.add_argument("--node", metavar="NAME", help="send to this node (default: source node / report destination)")
    told = p.add_argument_group("critical result communication (required to sign a critical report)")
    told.add_argument("--communicated-to", metavar="WHO", help="who was told of the critical result")
    told.add_argument("--via", metavar="HOW", help="phone, in person or secure message")
    told.add_argument("--role", metavar="ROLE", default="", help="the recipient's role (e.g. ED physician)")
    told.add_argument("--read-back", action="store_true", help="the recipient read the finding back")
    told.add_argument("--when", metavar="ISO", default="", help="when (ISO 8601; default now)")
    p.add_argument("--preliminary", action="store_true",
                   help="sign a preliminary read (SR UNVERIFIED, ORU P); another radiologist finalises it")
    p.add_argument("--review", choices=("none", "minor", "major"),
                   help="finalising a preliminary read: your agreement (none) or the discrepancy (minor / major)")
    p.add_argument("--review-note", metavar="TEXT", default="", help="what the discrepancy was")
    p.add_argument("--confirm-normal-text", action="store_true",
                   help="sign a critical report whose findings or impression still hold the template's normal text")
    p = subs.add_parser("addendum", help="start (or update) an addendum to the signed report")
    p.add_argument("study_uid", metavar="STUDY_UID")
    p.add_argument("--text-file", metavar="F", type=Path, required=True)
    p.add_argument("--note", metavar="TEXT", default="", help="reason for the addendum")
    p = subs.add_parser("verify", help="verify a signed report PDF, Encapsulated PDF or SR")
    p.add_argument("file", metavar="FILE", type=Path)
    p.add_argument("--ca", metavar="CA.pem", type=Path, action="append", help="trusted CA (repeatable; "
                   "default: trust_roots in reporting.json)")
    p.add_argument("--json", action="store_true")
    subs.add_parser("templates", help="list the report templates")


def execute(args: argparse.Namespace) -> int:
    from app.crypto import DecryptError, KeyMissingError
    from app.reporting.model import ReportError
    from app.reporting.signing import SigningError

    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "draft": _draft, "show": _show, "critical": _critical, "sign": _sign, "addendum": _addendum,
        "verify": _verify, "templates": _templates, "export": _export}
    try:
        return handlers[args.report_command](args)
    except (ReportError, SigningError, OSError, KeyMissingError, DecryptError) as exc:
        print(f"telerad report {args.report_command}: {exc}", file=sys.stderr)
        return 1


def _export(args: argparse.Namespace) -> int:
    with workstation(args) as ws:
        for path in ws.export_signed_report(args.study_uid, args.destination):
            print(path)
    return 0


def _sections_from(path: Path | None) -> dict[str, str]:
    from app.reporting.textio import parse_sections

    return parse_sections(path.read_text(encoding="utf-8")) if path else {}


def _draft(args: argparse.Namespace) -> int:
    from app.reporting.model import ReportError

    if args.critical is not None and not args.critical.strip():
        raise ReportError("--critical needs the finding's text")
    with workstation(args) as ws:
        report = ws.draft(args.study_uid, args.template, _sections_from(args.text_file))
        if args.critical is not None:
            report = ws.set_critical(report.id, True, args.critical.strip())
    flag = f", CRITICAL: {report.critical_text}" if report.critical else ""
    print(f"draft {report.id} (template {report.template_id or 'none'}, revision {report.revision}{flag})")
    return 0


def _critical(args: argparse.Namespace) -> int:
    from app.reporting.model import ReportError
    from app.reporting.service import current_report

    with workstation(args) as ws:
        report = current_report(ws.report_store, args.study_uid)
        if report is None:
            raise ReportError(f"study {args.study_uid} has no report")
        if args.set is not None or args.clear:
            report = ws.set_critical(report.id, not args.clear, args.set or "")
        if args.told:
            report = ws.communicate(report.id, args.told, args.method, role=args.role, when=args.when or "",
                                    read_back=args.read_back)
    told = "; ".join(f"{n.recipient} ({n.method}, {n.communicated_at})" for n in report.notices) or "nobody yet"
    print(f"critical: {'yes' if report.critical else 'no'}; told: {told}")
    return 0


def _password(args: argparse.Namespace) -> bytes:
    if args.password_file:
        return args.password_file.read_bytes().rstrip(b"\r\n")
    return getpass.getpass(f"Password for {args.p12.name}: ").encode("utf-8")


def _communication(args: argparse.Namespace, user: str) -> "CriticalNotice | None":
    from app.reporting.critical import communication
    from app.reporting.model import ReportError

    if not args.communicated_to and not args.via:
        return None
    if not args.communicated_to or not args.via:
        raise ReportError("--communicated-to WHO and --via HOW go together")
    return communication(args.communicated_to, args.via, user, role=args.role, when=args.when,
                         read_back=args.read_back)


def _sign(args: argparse.Namespace) -> int:
    from app.cli.progress import TerminalProgress
    from app.reporting.critical import CriticalNotCommunicatedError, NormalTextError
    from app.reporting.model import ReportError
    from app.reporting.reads import ReviewRequiredError
    from app.reporting.signing import load_identity

    with workstation(args) as ws:
        report = ws.open_report(args.study_uid, create=False)
        if report is None or not report.editable:
            raise ReportError(f"study {args.study_uid} has no unsigned report (draft or addendum) to sign")
        told = _communication(args, ws.user)
        if told is None or not report.critical:
            try:  # refuse before asking for the password
                ws.check_signable(report.id, confirm_normal_text=args.confirm_normal_text)
            except CriticalNotCommunicatedError as exc:
                raise ReportError(f"{exc} (--communicated-to WHO --via HOW [--role ROLE] [--read-back])") from None
            except NormalTextError as exc:
                raise ReportError(f"{exc} (--confirm-normal-text)") from None
        identity = load_identity(args.p12, _password(args))
        try:
            result = ws.sign(report.id, identity, args.node, communication=told if report.critical else None,
                             confirm_normal_text=args.confirm_normal_text, preliminary=args.preliminary,
                             review=args.review or "", review_note=args.review_note,
                             progress=TerminalProgress("sign"))
        except NormalTextError as exc:
            raise ReportError(f"{exc} (--confirm-normal-text)") from None
        except ReviewRequiredError as exc:
            raise ReportError(f"{exc} (--review none|minor|major)") from None
        nodes = sorted({d.node for d in ws.report_store.outbox(lambda p, n: None).items(report.id)})
    read = "preliminary read" if args.preliminary else str(result.report.kind)
    print(f"signed {read} {result.report.id} by {identity.common_name}"
          + (f" (review of the preliminary read: {result.report.review} discrepancy)" if result.report.review else ""))
    print(f"pdf:  {result.pdf}")
    print(f"sr:   {result.sr}")
    print(f"epdf: {result.encapsulated_pdf}")
    if result.hl7 is not None:
        print(f"hl7:  {result.hl7}")
    print(f"queued for {', '.join(nodes)}" if nodes else "not queued: no source node or report destination configured")
    return 0


def _addendum(args: argparse.Namespace) -> int:
    with workstation(args) as ws:
        report = ws.start_addendum(args.study_uid, args.note, _sections_from(args.text_file))
    print(f"addendum {report.id} to {report.predecessor_id} (draft; sign it with `telerad report sign`)")
    return 0


def _show(args: argparse.Namespace) -> int:
    from app.reporting.model import ReportError
    from app.reporting.service import delivery_states
    from app.reporting.textio import report_text

    with workstation(args) as ws:
        store = ws.report_store
        reports = store.for_study(args.study_uid)
        if not reports:
            raise ReportError(f"study {args.study_uid} has no report")
        rows = [_report_dict(r, delivery_states(store, r.id), [o.path for o in store.outputs(r.id)])
                | {"header_repairs": store.repairs(r.id)} for r in reports]
        for row, r in zip(rows, reports):  # signed files checked against their recorded SHA-256
            row["integrity"] = _integrity(ws, r)
        ai_lines = [v.report_line for v in ws.ai_findings(args.study_uid)]  # the AI decisions (app.workstation.ai)
        for row in rows:
            row["ai_findings"] = ai_lines
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 1 if any(row["integrity"] for row in rows) else 0
    for row, r in zip(rows, reports):
        print(f"== {row['kind']} {row['id']}  state={row['state']}  template={row['template'] or '-'}"
              + (f"  signed {row['signed_at']} by {row['signer']}" if row["signed_at"] else ""))
        if row["preliminary_signer"]:
            print(f"  preliminary read signed {row['preliminary_signed_at']} by {row['preliminary_signer']}"
                  + (f"; review: {row['review']} discrepancy ({row['reviewed_by']}) {row['review_note']}".rstrip()
                     if row["review"] else ""))
        print(report_text(r) or "(empty)")
        for line in row["ai_findings"]:
            print(f"  {line}")
        for n in row["notices"]:
            role = f" ({n['role']})" if n.get("role") else ""
            back = ", read back" if n.get("read_back") else ""
            print(f"  told {n['recipient']}{role} by {n['method']} at {n['communicated_at']}{back} "
                  f"(recorded by {n['recorded_by']})")
        for repair in row["header_repairs"]:
            print(f"  source header repaired: {repair}")
        for role, problem in row["integrity"].items():
            print(f"  INTEGRITY ALERT ({role}): {problem}")
        for role, d in row["delivery"].items():
            print(f"  {role}: {d['state']}" + (f" -> {d['node']}" if d["node"] else "")
                  + (f" ({d['error']})" if d["error"] else ""))
        print()
    return 1 if any(row["integrity"] for row in rows) else 0


def _integrity(ws: Any, r: "Report") -> dict[str, str]:
    from app.reporting.model import ReportState
    from app.reporting.service import output_problems

    return output_problems(ws.reporting(with_cache=False), r.id) if r.state == ReportState.FINAL else {}


def _report_dict(r: "Report", delivery: dict[str, Any], outputs: list[str]) -> dict[str, Any]:
    from dataclasses import asdict

    return {"id": r.id, "study_uid": r.study.study_uid, "kind": str(r.kind), "state": str(r.state),
            "template": r.template_id, "predecessor": r.predecessor_id, "addendum_note": r.addendum_note,
            "sections": dict(r.sections), "critical": r.critical, "critical_text": r.critical_text,
            "notices": [asdict(n) for n in r.notices], "signed_at": r.signed_at, "signer": r.signer_name,
            "content_hash": r.content_hash, "revision": r.revision, "outputs": outputs, "delivery": delivery,
            "preliminary_signer": r.preliminary_signer, "preliminary_signed_at": r.preliminary_signed_at,
            "review": r.review, "review_note": r.review_note, "reviewed_by": r.reviewed_by}


def _verify(args: argparse.Namespace) -> int:
    from app.reporting.settings import load_settings
    from app.workstation.reports import verify_file

    roots = list(args.ca or []) or [Path(p) for p in load_settings(paths(args).config_dir).trust_roots]
    if not roots:
        print("telerad report verify: no trusted CA (use --ca or trust_roots in reporting.json)", file=sys.stderr)
        return 2
    with workstation(args) as ws:
        result = verify_file(ws, args.file, roots)
    what = {"pdf": "signed PDF", "epdf": "Encapsulated PDF", "sr": "signed SR"}.get(result.kind, "file")
    if args.json:
        print(json.dumps({"ok": result.ok, "kind": result.kind, "problems": list(result.problems),
                          "signer": result.signer, "signed_at": result.signed_at, "signatures": result.signatures,
                          "report_id": result.report_id}, indent=2))
    elif result.ok:
        print(f"OK: signed by {result.signer} at {result.signed_at}; {what} intact and trusted"
              + ("; matches the record of report " + result.report_id if result.report_id else ""))
    else:
        print(f"BAD: {what}: " + "; ".join(result.problems))
    return 0 if result.ok else 1


def _templates(args: argparse.Namespace) -> int:
    from app.reporting.templates import load_templates

    for t in sorted(load_templates().values(), key=lambda t: t.id):
        print(f"{t.id:20} {t.title}")
    return 0
