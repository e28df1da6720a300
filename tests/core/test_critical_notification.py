"""The separate HL7 critical-result notification (reporting.json ``hl7.critical_notification``): queued in the
outbox when a critical report is signed, delivered over MLLP to its own peer (python-hl7's server on
127.0.0.1) by ``telerad outbox send`` in a second process, exactly once, also across a kill; none for a
non-critical report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import hl7
import pytest

from app.reporting.hl7_critical import COMMUNICATION_CODE
from app.reporting.hl7_oru import CRITICAL_CODE, STUDY_UID_CODE, control_id
from app.reporting.settings import Hl7Destination, ReportingSettings, SettingsError, load_settings, save_settings
from tests.core.net_peers import free_port
from tests.core.report_fixtures import make_pki
from tests.core.test_critical_results import _send_orders, _uid, home  # noqa: F401 - a fixture
from tests.core.test_report_cli import telerad
from tests.core.test_report_hl7 import REPO, Ris, make_home

FINDING = "Acute subdural haematoma | 9 mm midline shift"


def _send_outbox(home: Path, killpoint: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TELERAD_HOME", "TELERAD_REPORT_KILLPOINT")}
    if killpoint:
        env["TELERAD_REPORT_KILLPOINT"] = killpoint
    return subprocess.run([sys.executable, "-m", "app", "--data-dir", str(home), "outbox", "send", "--once"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_settings_inherit_the_oru_destination_and_round_trip(tmp_path: Path) -> None:
    base = {"host": "ris", "port": 2575, "receiving_application": "RIS", "critical_flag": "HH"}
    dest = Hl7Destination.from_json({**base, "critical_notification": {"port": 2576}})
    notify = dest.critical_notification
    assert notify is not None and (notify.host, notify.port, notify.name) == ("ris", 2576, "RIS-critical")
    assert (notify.receiving_application, notify.critical_flag) == ("RIS", "HH")
    assert dest.destination("RIS-critical") == notify and dest.destination("RIS") == dest
    assert Hl7Destination.from_json(base).critical_notification is None
    for bad, says in (({"port": 0}, "critical_notification.port"), ("pager", "must be an object"),
                      ({"name": "RIS"}, "must differ")):
        with pytest.raises(SettingsError, match=says):
            Hl7Destination.from_json({**base, "critical_notification": bad})
    save_settings(tmp_path, ReportingSettings(hl7=dest))
    assert load_settings(tmp_path).hl7 == dest


def test_one_notification_per_critical_result_to_its_own_peer(tmp_path: Path, shared_data: Path) -> None:
    from app.audit import AuditLog
    from app.reporting.critical import communication
    from app.reporting.service import (ReportingContext, delivery_states, draft_for_study, record_notice,
                                       set_critical, sign, start_addendum)
    from app.reporting.signing import load_identity
    from app.store import Cache

    ris_port, pager_port = free_port(), free_port()
    home, study_uid, pki = make_home(tmp_path, shared_data, None)
    notify = {"port": pager_port, "name": "pager", "receiving_application": "PAGER", "receiving_facility": "ED"}
    (home / "config" / "reporting.json").write_text(json.dumps({"retry_base_s": 0.01, "retry_cap_s": 0.02, "hl7": {
        "host": "127.0.0.1", "port": ris_port, "receiving_application": "RISAPP", "timeout_s": 5,
        "critical_flag": "HH", "critical_notification": notify}}))  # the site's file, as written by hand
    cache, audit = Cache.open(home / "cache"), AuditLog(home / "audit.sqlite")
    ctx = ReportingContext.open(home, home / "config", cache, audit, "dr.night")
    try:
        draft = draft_for_study(ctx, study_uid, sections={"findings": "Crescent-shaped collection.",
                                                          "impression": "Acute SDH."})
        set_critical(ctx, draft.id, True, FINDING)
        told = communication("Dr Bob Referrer", "phone", "dr.night", role="ED physician", read_back=True,
                             when="2026-12-03T01:02:03+00:00")
        record_notice(ctx, draft.id, told)
        night, day = load_identity(pki.p12, pki.password), make_pki(tmp_path / "day", "Dr Dan Day")
        sign(ctx, draft.id, night, preliminary=True)  # the night read notifies ...
        queued = delivery_states(ctx.store, draft.id)["preliminary_hl7_critical"]
        assert (queued["state"], queued["node"]) == ("queued", "hl7:pager")
        identity = load_identity(day.p12, day.password)
        sign(ctx, draft.id, identity, review="none")  # ... and its final read does not notify again
        assert "hl7_critical" not in delivery_states(ctx.store, draft.id)
        nodes = [i.node for i in ctx.store.outbox(lambda p, n: None).items(draft.id)]
        assert nodes.count("hl7:pager") == 1 and nodes.count("hl7:RIS") == 2  # the P and F results

        with Ris(ris_port) as ris, Ris(pager_port) as paged:
            killed = _send_outbox(home, "outbox_before_send:1")  # SIGKILL before the first send
            assert killed.returncode == -9, killed.stderr
            assert paged.received == [] and ris.received == []
            done = _send_outbox(home)  # the restart re-queues the interrupted row and sends everything
            assert done.returncode == 0, done.stderr
            addendum = start_addendum(ctx, study_uid, "Typo corrected.")  # not critical: no notification
            sign(ctx, addendum.id, identity)
            assert _send_outbox(home).returncode == 0
        assert delivery_states(ctx.store, draft.id)["preliminary_hl7_critical"]["state"] == "sent"
        assert "hl7_critical" not in delivery_states(ctx.store, addendum.id)
        assert len(ris.received) == 3  # the report's preliminary and final ORU, the addendum's
    finally:
        for resource in (ctx, cache, audit):
            resource.close()

    [message] = paged.received  # exactly one notification, though the sender was killed once
    oru = hl7.parse(message.decode("utf-8"))
    assert str(oru.segment("MSH")(9)) == "ORU^R01^ORU_R01" and str(oru["MSH.10"]) == control_id(draft.id + ":critical")
    assert (str(oru["MSH.5"]), str(oru["MSH.6"])) == ("PAGER", "ED")
    assert (str(oru["ORC.1"]), str(oru["ORC.2"]), str(oru["OBR.25"])) == ("RE", "ACC-42", "P")  # the night read
    obx = [s for s in oru if str(s[0]) == "OBX"]
    assert [str(s(3)) for s in obx] == [CRITICAL_CODE, COMMUNICATION_CODE, STUDY_UID_CODE]
    critical, said, study = obx
    assert (oru.unescape(str(critical(5))), str(critical(8))) == (FINDING, "HH")  # escaped on the wire
    assert str(said(5)) == ("Communicated to Dr Bob Referrer (ED physician) by phone; read back confirmed; "
                            "recorded by dr.night")
    assert str(said(14)) == "20261203010203+0000" and str(said(8)) == ""
    assert str(study(5)) == study_uid
    assert all(str(s(11)) == "P" for s in obx)
    assert all(CRITICAL_CODE in m.decode("utf-8") for m in ris.received[:2])  # the flag stays in the report's ORU
    assert CRITICAL_CODE not in ris.received[2].decode("utf-8")  # the addendum is not critical


def test_the_critical_list_takes_the_orders_accession_when_the_images_have_none(home: Path, tmp_path: Path) -> None:
    uid = _uid(home)
    telerad(home, "report", "draft", uid, "--critical", "Tension pneumothorax")
    assert json.loads(telerad(home, "critical", "--json").stdout)[0]["accession"] == ""  # none in the header
    _send_orders(home, uid, tmp_path)  # the RIS's order for this study (matched by its Study Instance UID)
    [row] = json.loads(telerad(home, "critical", "--json").stdout)
    assert (row["study_instance_uid"], row["accession"]) == (uid, "ACC-STROKE")
    assert telerad(home, "critical").stdout.startswith("ACC-STROKE ")
