"""Clinical context on screen and the critical results closed loop: orders from a real MLLP peer (python-hl7's
``mllp_send`` in a second process) reach the worklist and the draft; a critical report is signed only once its
communication is recorded; the ORU carries the abnormal flag; ``telerad critical`` lists the times."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import hl7
import pytest

from app.config import Paths
from app.reporting.critical import communication, method_of
from app.reporting.model import ReportError
from app.workstation import Workstation
from tests.core.report_fixtures import make_pki, study_files
from tests.core.test_orders_mllp import _send
from tests.core.test_orders_parse import order_message
from tests.core.test_report_cli import telerad

REASON, HISTORY = "Code stroke: left hemiparesis", "Atrial fibrillation on apixaban"


@pytest.fixture
def home(tmp_path: Path, shared_data: Path) -> Path:
    home = tmp_path / "home"
    telerad(home, "import", *map(str, study_files(shared_data)[:12]))
    return home


def _uid(home: Path) -> str:
    return str(json.loads(telerad(home, "studies", "--json").stdout)[0]["study_instance_uid"])


def _send_orders(home: Path, uid: str, tmp_path: Path) -> None:
    messages = [order_message("O1", "ACC-STROKE", "MRN1", style="omi", priority="S", study_uid=uid, reason=REASON,
                              history=HISTORY),
                order_message("O2", "ACC-WAIT", "MRN2", priority="A", reason="Follow-up of a nodule")]
    with Workstation(Paths(home, home / "config"), "dr.night") as ws:
        listener = ws.start_hl7_listener(port=0, host="127.0.0.1")
        assert [a[0] for a in _send(listener.port, messages, tmp_path)] == ["AA", "AA"]


def test_the_order_raises_the_study_and_its_context_reaches_worklist_and_draft(home: Path, tmp_path: Path) -> None:
    uid = _uid(home)
    before = json.loads(telerad(home, "worklist", "--json").stdout)[0]
    assert before["priority"] == "routine" and before["reason"] == ""
    _send_orders(home, uid, tmp_path)
    [row] = json.loads(telerad(home, "worklist", "--json").stdout)
    assert (row["priority"], row["priority_source"], row["order_priority"]) == ("STAT", "order", "STAT")
    assert (row["reason"], row["clinical_history"]) == (REASON, HISTORY)
    assert (row["ordering_physician"], row["callback"]) == ("Dr Gregory House", "+41 21 555 0101")
    table = telerad(home, "worklist").stdout
    assert REASON[:20] in table
    assert [line for line in table.splitlines() if "awaiting images" in line and "ACC-WAIT" in line]

    telerad(home, "report", "draft", uid, "--template", "ct-head")
    [shown] = json.loads(telerad(home, "report", "show", uid, "--json").stdout)
    assert shown["sections"]["clinical_information"] == f"Reason for exam: {REASON}\nClinical history: {HISTORY}"
    with Workstation(Paths(home, home / "config"), "dr.night") as ws:  # the reader's own text stays
        report = ws.open_report(uid)
        assert report is not None
        ws.report_store.update_sections(report.id, {"clinical_information": "Headache since this morning."})
        again = ws.open_report(uid)
        assert again is not None and again.sections["clinical_information"] == "Headache since this morning."


def _reporting_json(home: Path, flag: str) -> None:
    config = home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "reporting.json").write_text(json.dumps({"hl7": {"host": "127.0.0.1", "port": 9, "critical_flag": flag,
                                                               "receiving_application": "RIS"}}))


def test_a_critical_report_is_signed_only_once_its_communication_is_recorded(home: Path, tmp_path: Path) -> None:
    uid = _uid(home)
    _reporting_json(home, "HH")
    pki = make_pki(tmp_path / "pki")
    (tmp_path / "pw").write_bytes(pki.password)
    out = telerad(home, "report", "draft", uid, "--template", "ct-head", "--critical", "Acute subdural haematoma")
    assert "CRITICAL: Acute subdural haematoma" in out.stdout
    sign = ("report", "sign", uid, "--p12", str(pki.p12), "--password-file", str(tmp_path / "pw"))

    refused = telerad(home, *sign, check=False)
    assert refused.returncode == 1 and "--communicated-to" in refused.stderr and "Traceback" not in refused.stderr
    half = telerad(home, *sign, "--communicated-to", "Dr Bob Referrer", check=False)
    assert half.returncode == 1 and "go together" in half.stderr
    bogus = telerad(home, *sign, "--communicated-to", "Dr Bob Referrer", "--via", "carrier pigeon", check=False)
    assert bogus.returncode == 1 and "unknown communication method" in bogus.stderr
    [draft] = json.loads(telerad(home, "report", "show", uid, "--json").stdout)
    assert draft["state"] == "draft" and draft["notices"] == []  # refused before anything was recorded

    told = ("--communicated-to", "Dr Bob Referrer", "--via", "phone", "--role", "ED physician", "--read-back")
    normal = telerad(home, *sign, *told, check=False)  # findings and impression: still the template's text
    assert normal.returncode == 1 and "--confirm-normal-text" in normal.stderr and "normal text" in normal.stderr
    [draft] = json.loads(telerad(home, "report", "show", uid, "--json").stdout)
    assert draft["state"] == "draft" and len(draft["notices"]) == 1  # the communication happened: recorded
    telerad(home, *sign, "--confirm-normal-text")

    [final] = json.loads(telerad(home, "report", "show", uid, "--json").stdout)
    assert final["state"] == "final" and final["critical"]
    [notice] = final["notices"]
    assert (notice["recipient"], notice["role"], notice["method"], notice["read_back"]) == (
        "Dr Bob Referrer", "ED physician", "phone", True)
    [row] = json.loads(telerad(home, "worklist", "--json").stdout)
    assert row["flags"] == ["critical"] and row["critical_text"] == "Acute subdural haematoma"

    oru = hl7.parse(Path([p for p in final["outputs"] if p.endswith(".hl7")][0]).read_bytes().decode("utf-8"))
    flags = {str(s(3)).split("^")[0]: str(s(8)) for s in oru if str(s[0]) == "OBX"}
    assert flags["critical"] == "HH" and flags["impression"] == "HH" and flags["findings"] == ""
    assert [str(s(5)) for s in oru if str(s[0]) == "OBX" and str(s(3)).startswith("critical")] == [
        "Acute subdural haematoma"]

    [listed] = json.loads(telerad(home, "critical", "--since", "2", "--json").stdout)
    assert (listed["study_instance_uid"], listed["communicated_to"], listed["via"]) == (uid, "Dr Bob Referrer", "phone")
    assert listed["read_back"] and listed["report_state"] == "final"
    assert listed["minutes_to_communication"] is not None and 0 <= listed["minutes_to_communication"] < 30
    assert "told Dr Bob Referrer (ED physician) by phone" in telerad(home, "critical").stdout

    with Workstation(Paths(home, home / "config"), "auditor") as ws:
        details = [json.loads(r.detail) for r in ws.audit.records()]
    [told_record] = [d for d in details if d.get("what") == "critical finding communicated"]
    assert (told_record["role"], told_record["read_back"], told_record["method"]) == ("ED physician", True, "phone")


def test_an_open_loop_is_listed_first_and_says_so(home: Path) -> None:
    uid = _uid(home)
    telerad(home, "report", "draft", uid, "--critical", "Tension pneumothorax")
    text = telerad(home, "critical").stdout
    assert "NOT COMMUNICATED YET" in text and uid in text
    assert json.loads(telerad(home, "critical", "--json").stdout)[0]["communicated"] is False
    assert telerad(home, "critical", "--since", "0", check=False).returncode == 2


def test_a_communication_names_who_how_and_a_past_time() -> None:
    now = datetime(2026, 1, 2, 3, 0, tzinfo=timezone.utc)
    notice = communication(" Dr A ", "In-Person", "me", role="ICU", when="2026-01-02T02:50:00+00:00",
                           read_back=True, now=now)
    assert (notice.recipient, notice.method, notice.communicated_at, notice.role, notice.read_back) == (
        "Dr A", "in person", "2026-01-02T02:50:00+00:00", "ICU", True)
    assert method_of("secure-message") == "secure message" and method_of("PHONE") == "phone"
    for bad in ({"recipient": " "}, {"method": "fax"}, {"when": "yesterday"},
                {"when": (now + timedelta(hours=1)).isoformat()}):
        args = {"recipient": "Dr A", "method": "phone", "when": "", **bad}
        with pytest.raises(ReportError):
            communication(args["recipient"], args["method"], "me", when=args["when"], now=now)


def test_the_order_priority_only_ever_raises_and_names_its_source() -> None:
    from app.worklist.build import choose_priority
    from app.worklist.header import RequestFields
    from app.worklist.rules import Facts, Rule
    from app.worklist.types import Priority

    facts = Facts(("CT",), "HEAD", "CT head", "", "", "QMC", 70.0)
    ed_rule = (Rule("urgent", name="ED", body_parts=("HEAD",)),)
    assert choose_priority(None, RequestFields(), facts, (), "STAT") == (Priority.STAT, "order")
    assert choose_priority(None, RequestFields(), facts, (), "ASAP") == (Priority.URGENT, "order")
    assert choose_priority(None, RequestFields(), facts, ed_rule, "ROUTINE") == (Priority.URGENT, "rule")
    assert choose_priority(None, RequestFields("STAT"), facts, (), "ROUTINE") == (Priority.STAT, "header")
    assert choose_priority("routine", RequestFields(), facts, (), "STAT") == (Priority.ROUTINE, "reader")
    assert choose_priority(None, RequestFields(), facts, (), "") == (Priority.ROUTINE, "default")


def test_the_site_chooses_the_oru_abnormal_flag() -> None:
    from app.reporting.settings import Hl7Destination, SettingsError

    base = {"host": "ris", "port": 2575}
    assert Hl7Destination.from_json(base).critical_flag == "AA"
    assert Hl7Destination.from_json({**base, "critical_flag": "HH"}).critical_flag == "HH"
    with pytest.raises(SettingsError, match="critical_flag"):
        Hl7Destination.from_json({**base, "critical_flag": "XX"})
