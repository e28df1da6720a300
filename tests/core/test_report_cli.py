"""`telerad report` / `telerad outbox` as real processes, plus the small wiring pieces (settings, text files,
worklist flags, runner lock)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.reporting.model import StudyInfo
from app.reporting.settings import ReportingSettings
from app.reporting.textio import parse_sections
from tests.core.report_fixtures import make_pki, study_files

REPO = Path(__file__).resolve().parents[2]


def telerad(home: Path, *args: str, kill_at: str | None = None, stdin: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TELERAD_HOME", "TELERAD_REPORT_KILLPOINT")}
    if kill_at:
        env["TELERAD_REPORT_KILLPOINT"] = kill_at
    proc = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(home), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, input=stdin)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A cache holding the shared CT study (140 slices), a test PKI and a password file."""
    from app.store import Cache

    home = tmp_path_factory.mktemp("home")
    with Cache.open(home / "cache") as cache:
        for f in study_files(shared_data):
            cache.store_file(f)
    pki = make_pki(home / "pki")
    (home / "pw").write_bytes(pki.password + b"\n")
    return home


def study_uid(home: Path) -> str:
    return json.loads(telerad(home, "studies", "--json").stdout)[0]["study_instance_uid"]


def test_report_cli_draft_sign_verify_addendum(home: Path, tmp_path: Path) -> None:
    uid = study_uid(home)
    text = tmp_path / "report.txt"
    text.write_text("Clinical information:\nFall.\n\nFindings:\nNo haemorrhage.\n\nImpression:\nNormal.\n")
    out = telerad(home, "report", "draft", uid, "--template", "ct-head", "--text-file", str(text)).stdout
    assert "template ct-head" in out
    assert telerad(home, "report", "draft", uid, "--template", "nope", check=False).returncode == 1
    telerad(home, "report", "critical", uid, "--set", "Test critical finding", "--told", "Dr Bob Referrer")
    shown = json.loads(telerad(home, "report", "show", uid, "--json").stdout)
    assert len(shown) == 1 and shown[0]["state"] == "draft" and shown[0]["critical"]
    assert shown[0]["sections"]["findings"] == "No haemorrhage." and shown[0]["sections"]["impression"] == "Normal."
    assert shown[0]["notices"][0]["recipient"] == "Dr Bob Referrer"

    # Killed after writing the files but before the signing transaction: still a draft, nothing queued.
    args = ("report", "sign", uid, "--p12", str(home / "pki" / "radiologist.p12"), "--password-file",
            str(home / "pw"))
    assert telerad(home, *args, kill_at="sign_before_finalize", check=False).returncode == -9
    assert json.loads(telerad(home, "report", "show", uid, "--json").stdout)[0]["state"] == "draft"
    # Wrong password refused.
    (tmp_path / "bad").write_text("wrong")
    bad = telerad(home, *args[:-1], str(tmp_path / "bad"), check=False)
    assert bad.returncode == 1 and "wrong password" in bad.stderr

    signed = telerad(home, *args).stdout
    paths = {line.split(":", 1)[0]: Path(line.split(":", 1)[1].strip()) for line in signed.splitlines()
             if line.split(":", 1)[0] in ("pdf", "sr", "epdf")}
    assert set(paths) == {"pdf", "sr", "epdf"} and all(p.is_file() for p in paths.values())
    assert "not queued" in signed  # imported from disk, no destination configured
    studies = json.loads(telerad(home, "studies", "--json").stdout)
    assert set(studies[0]["modalities"]) == {"CT", "SR", "DOC"}  # the objects joined their study

    ca = str(home / "pki" / "ca.pem")
    assert "OK: signed by Dr Alice Example" in telerad(home, "report", "verify", str(paths["pdf"]), "--ca", ca).stdout
    assert telerad(home, "report", "verify", str(paths["epdf"]), "--ca", ca).returncode == 0
    flipped = tmp_path / "flipped.pdf"
    data = bytearray(paths["pdf"].read_bytes())
    data[len(data) // 3] ^= 0x01
    flipped.write_bytes(bytes(data))
    assert telerad(home, "report", "verify", str(flipped), "--ca", ca, check=False).returncode == 1
    refused = telerad(home, "report", "draft", uid, "--text-file", str(text), check=False)
    assert refused.returncode == 1 and "addendum" in refused.stderr

    original_pdf = paths["pdf"].read_bytes()
    (tmp_path / "add.txt").write_text("Findings:\nSmall calcification, previously not mentioned.\n")
    telerad(home, "report", "addendum", uid, "--text-file", str(tmp_path / "add.txt"), "--note", "omission")
    # Password from the prompt (getpass falls back to stdin without a terminal).
    signed2 = telerad(home, "report", "sign", uid, "--p12", str(home / "pki" / "radiologist.p12"),
                      stdin=(home / "pw").read_text()).stdout
    assert "signed addendum" in signed2 and paths["pdf"].read_bytes() == original_pdf
    shown = json.loads(telerad(home, "report", "show", uid, "--json").stdout)
    assert [r["kind"] for r in shown] == ["original", "addendum"] and shown[1]["predecessor"] == shown[0]["id"]
    assert shown[1]["addendum_note"] == "omission" and all(r["state"] == "final" for r in shown)
    assert json.loads(telerad(home, "outbox", "--json").stdout) == []


def test_destination_choice_and_transport() -> None:
    known = {"src", "dest", "web"}
    assert ReportingSettings().choose_node("src", known) == "src"
    assert ReportingSettings(destination="dest").choose_node("src", known) == "src"
    assert ReportingSettings(destination="dest").choose_node(None, known) == "dest"
    assert ReportingSettings(destination="dest").choose_node("gone", known) == "dest"
    assert ReportingSettings(destination="dest", destination_overrides_source=True).choose_node("src", known) == "dest"
    assert ReportingSettings().choose_node(None, known) is None
    assert ReportingSettings(dicomweb_only=frozenset({"web"})).transport("web") == "stow"
    assert ReportingSettings(dicomweb_only=frozenset({"web"})).transport("src") == "dimse"


def test_text_file_sections() -> None:
    got = parse_sections("History: \nheadache\n## FINDINGS\nline 1\nline 2\n\nConclusion\nNormal.")
    assert got == {"clinical_information": "headache", "findings": "line 1\nline 2", "impression": "Normal."}
    assert parse_sections("Plain text only.") == {"findings": "Plain text only."}


def test_worklist_flags_show_critical_and_delivery(tmp_path: Path) -> None:
    from app.reporting.model import CriticalNotice
    from app.reporting.outbox import Delivery
    from app.reporting.store import OutputFile, ReportStore, utc_now
    from app.reporting.worklist_flags import CRITICAL_UNTOLD_FLAG, report_flags

    store = ReportStore(tmp_path / "reports.sqlite")
    a = store.create_draft(StudyInfo("1.2.3.1"))
    b = store.create_draft(StudyInfo("1.2.3.2"))
    store.set_critical(a.id, True, "Tension pneumothorax")
    flags = report_flags(store)
    assert flags["1.2.3.1"].critical and flags["1.2.3.1"].flags == ("critical", CRITICAL_UNTOLD_FLAG)
    assert flags["1.2.3.2"].flags == () and flags["1.2.3.2"].status == "draft"
    store.record_critical_notice(a.id, CriticalNotice("Dr B", "phone", utc_now(), "me"))
    signed = store.signed_version(a.id, "Example^Alice", utc_now())
    store.finalize(signed, [OutputFile("sr", "/x/1.dcm", "0", 1, "9.9.1")], [Delivery("9.9.1", "/x/1.dcm", "pacs")])
    flags = report_flags(store, ["1.2.3.1", "9.9.9"])
    assert set(flags) == {"1.2.3.1"}
    assert flags["1.2.3.1"].flags == ("critical",) and flags["1.2.3.1"].status == "final"
    assert flags["1.2.3.1"].delivery == "queued" and flags["1.2.3.1"].critical_text == "Tension pneumothorax"
    store.close()


def test_one_outbox_runner_per_data_dir(tmp_path: Path) -> None:
    from app.reporting.runner import OutboxBusy, runner_lock

    with runner_lock(tmp_path):
        child = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                                "from app.reporting.runner import runner_lock, OutboxBusy\n"
                                "try:\n with runner_lock(Path(sys.argv[1])): print('got it')\n"
                                "except OutboxBusy: print('busy')", str(tmp_path)],
                               cwd=REPO, capture_output=True, text=True, timeout=60)
        assert child.stdout.strip() == "busy", child.stderr
        with pytest.raises(OutboxBusy):
            with runner_lock(tmp_path):
                pass
