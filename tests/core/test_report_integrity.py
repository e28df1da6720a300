"""Report integrity (issue 15.5): the SR carries a PS3.15 C.4 signature that dcmsign verifies; any byte
edited in a signed file stops the outbox, the cache and `report show` (with a Security Alert); changed
wrapper attributes fail `report verify`; signed files are read-only and written owner-only."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pydicom
import pytest

from app.audit import AuditLog, events
from app.reporting.integrity import write_signed
from app.reporting.sr_signature import PROFILE_IF_PRESENT, PROFILE_REQUIRED, verify_sr
from app.reporting.verify_file import verify_report_file
from tests.core.report_fixtures import SignedCase, sign_shared_study

NODE = "PACS"


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> SignedCase:
    """The shared CT study's report signed with an RSA identity and queued to ``PACS``."""
    return sign_shared_study(tmp_path_factory.mktemp("integrity"), shared_data, node=NODE, key_type="rsa")


def _ca(case: SignedCase) -> "object":
    from cryptography import x509

    return x509.load_pem_x509_certificate(case.pki.ca_pem.read_bytes())


def _dcmsign(case: SignedCase, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["dcmsign", "--verify", "+rg", "+rs", "+cf", str(case.pki.ca_pem), str(path)],
                          capture_output=True, text=True, timeout=60)


def _copy_with(path: Path, folder: Path, **changes: object) -> Path:
    ds = pydicom.dcmread(str(path))
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    out = folder / f"{path.stem}-{'-'.join(changes)}.dcm"
    ds.save_as(str(out))
    return out


def _alerts(audit_path: Path) -> list[object]:
    with AuditLog(audit_path) as log:
        return [r for r in log.records() if r.event_id == events.SECURITY_ALERT.code]


def test_sr_signature_verified_by_dcmsign_and_valid_for_dciodvfy(case: SignedCase) -> None:
    sr = Path(case.result.sr)
    ds = pydicom.dcmread(str(sr))
    assert ds.VerificationFlag == "VERIFIED" and len(ds.DigitalSignaturesSequence) == 1
    item, mac = ds.DigitalSignaturesSequence[0], ds.MACParametersSequence[0]
    assert item.MACIDNumber == mac.MACIDNumber == 0 and item.CertificateType == "X509_1993_SIG"
    assert item.DigitalSignaturePurposeCodeSequence[0].CodeValue == "5" and item.DigitalSignatureDateTime
    assert mac.MACAlgorithm == "SHA256" and mac.MACCalculationTransferSyntaxUID == "1.2.840.10008.1.2.1"
    signed = {pydicom.datadict.keyword_for_tag(t) for t in mac.DataElementsSigned}
    assert set(PROFILE_REQUIRED) | {k for k in PROFILE_IF_PRESENT if k in ds} | {"PatientName", "PatientID"} <= signed
    peer = _dcmsign(case, sr)
    assert peer.returncode == 0, peer.stdout + peer.stderr
    assert "Signature Verification      : OK" in subprocess.run(
        ["dcmsign", "-v", "--verify", "+rs", "+cf", str(case.pki.ca_pem), str(sr)],
        capture_output=True, text=True, timeout=60).stderr
    assert verify_sr(ds, [_ca(case)]).ok
    epdf = Path(case.result.encapsulated_pdf)  # the wrapper carries the same kind of signature
    assert "DigitalSignaturesSequence" in pydicom.dcmread(str(epdf), stop_before_pixels=True)
    peer = subprocess.run(["dcmsign", "--verify", "+rg", "+cf", str(case.pki.ca_pem), str(epdf)],
                          capture_output=True, text=True, timeout=60)
    assert peer.returncode == 0, peer.stdout + peer.stderr
    for path in (sr, epdf):
        out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
        errors = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]
        assert errors == [], (path.name, errors)


@pytest.mark.parametrize("changes", [
    {"PatientName": "Mallory^Eve"}, {"PatientID": "X1"}, {"StudyInstanceUID": "1.2.3.4"},
    {"SOPInstanceUID": "1.2.3.5"}, {"VerificationFlag": "UNVERIFIED"}, {"ContentDate": "19990101"},
])
def test_any_signed_sr_attribute_changed_fails_our_verify_and_dcmsign(case: SignedCase, tmp_path: Path,
                                                                       changes: dict[str, str]) -> None:
    tampered = _copy_with(Path(case.result.sr), tmp_path, **changes)
    result = verify_sr(pydicom.dcmread(str(tampered)), [_ca(case)])
    assert not result.ok and any("does not match" in p for p in result.problems), result.problems
    assert _dcmsign(case, tampered).returncode != 0


def test_sr_content_text_changed_or_attribute_added_fails(case: SignedCase, tmp_path: Path) -> None:
    ds = pydicom.dcmread(str(case.result.sr))
    texts = [i for c in ds.ContentSequence if "ContentSequence" in c for i in c.ContentSequence if "TextValue" in i]
    texts[0].TextValue = texts[0].TextValue + " No acute finding."
    changed = tmp_path / "text.dcm"
    ds.save_as(str(changed))
    assert not verify_sr(pydicom.dcmread(str(changed)), [_ca(case)]).ok
    added = _copy_with(Path(case.result.sr), tmp_path, OperatorsName="Mallory^Eve")
    result = verify_sr(pydicom.dcmread(str(added)), [_ca(case)])
    assert not result.ok and any("OperatorsName" in p for p in result.problems), result.problems


def test_untrusted_signer_and_unsigned_sr_fail(case: SignedCase, tmp_path: Path) -> None:
    from tests.core.report_fixtures import make_pki

    other = make_pki(tmp_path / "other", key_type="rsa")
    from cryptography import x509

    stranger = x509.load_pem_x509_certificate(other.ca_pem.read_bytes())
    assert "signer not trusted" in verify_sr(pydicom.dcmread(str(case.result.sr)), [stranger]).problems
    ds = pydicom.dcmread(str(case.result.sr))
    del ds.DigitalSignaturesSequence
    assert verify_sr(ds, [_ca(case)]).problems == ("no digital signature",)


def test_signed_files_are_read_only_and_written_owner_only(case: SignedCase, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = [Path(o.path) for o in case.store.outputs(case.result.report.id)]
    assert len(outputs) == 3 and all(stat.S_IMODE(p.stat().st_mode) == 0o400 for p in outputs)
    seen: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr("app.reporting.integrity.os.fsync",
                        lambda fd: (seen.append(stat.S_IMODE(os.fstat(fd).st_mode)), real_fsync(fd)))
    old = os.umask(0)
    try:
        target = tmp_path / "f.bin"
        write_signed(target, b"one")
        write_signed(target, b"two")  # replaces a read-only file (and a read-only temp left by a crash)
        (tmp_path / "f.bin.tmp").write_bytes(b"x")
        os.chmod(tmp_path / "f.bin.tmp", 0o400)
        write_signed(target, b"three")
    finally:
        os.umask(old)
    assert seen == [0o600] * 3 and stat.S_IMODE(target.stat().st_mode) == 0o400
    assert target.read_bytes() == b"three" and not (tmp_path / "f.bin.tmp").exists()


def _edit(path: Path, offset: int) -> bytes:
    original = path.read_bytes()
    os.chmod(path, 0o600)  # the owner (or anyone with their rights) can still change it
    data = bytearray(original)
    data[offset] ^= 0x20
    path.write_bytes(bytes(data))
    return original


def _restore(path: Path, original: bytes) -> None:
    path.write_bytes(original)
    os.chmod(path, 0o400)


def test_outbox_refuses_any_edited_byte_with_a_security_alert(case: SignedCase) -> None:
    from app.reporting.outbox import REFUSED_AT

    audit_path = case.home / "audit-outbox.sqlite"
    sent: list[str] = []
    with AuditLog(audit_path) as audit:
        box = case.store.outbox(lambda p, n: sent.append(p), audit=audit, user="dr.test")
        items = {i.sop_instance_uid: i for i in box.items(case.result.report.id)}
        assert len(items) == 2 and {i.node for i in items.values()} == {NODE}
        tries = 0
        paths = [Path(i.path) for i in items.values()]
        for where in ("preamble", "magic", "middle", "last byte"):
            originals = []
            for path in paths:
                size = path.stat().st_size
                offset = {"preamble": 0, "magic": 128, "middle": size // 2, "last byte": size - 1}[where]
                originals.append(_edit(path, offset))
            try:
                for uid in items:
                    box.retry_now(uid)
                assert box.process_due() == 0
            finally:
                for path, original in zip(paths, originals):
                    _restore(path, original)
            tries += len(paths)
            for row in box.items(case.result.report.id):
                assert row.state == "failed" and "integrity check failed" in row.last_error, (where, row)
                assert row.next_attempt_at == REFUSED_AT
            assert box.next_due_at() is None  # a refused row is not retried by itself
        assert sent == []  # nothing tampered was ever delivered
        for item in items.values():
            box.retry_now(item.sop_instance_uid)
        assert box.process_due() == 2 and sorted(sent) == sorted(i.path for i in items.values())
    alerts = _alerts(audit_path)
    assert len(alerts) == tries == 8
    assert all('"refused":"send"' in a.detail and a.outcome == 8 for a in alerts)


def test_publish_show_and_verify_refuse_an_edited_file(case: SignedCase, tmp_path: Path) -> None:
    from app.reporting.service import ReportingContext, output_problems, publish_to_cache
    from app.store import Cache

    rid = case.result.report.id
    epdf = Path(case.result.encapsulated_pdf)
    audit_path = tmp_path / "audit.sqlite"
    with AuditLog(audit_path) as audit, Cache.open(tmp_path / "cache") as cache:
        ctx = ReportingContext(case.home, case.home / "config", case.store, cache, audit, "dr.test")
        assert output_problems(ctx, rid) == {}
        original = _edit(epdf, epdf.stat().st_size // 2)
        try:
            assert set(output_problems(ctx, rid)) == {"epdf"}
            stored = publish_to_cache(case.store, cache, rid, audit)
            assert [s.status for s in stored] == ["imported"]  # the SR only
            assert cache.get_instance(pydicom.dcmread(io.BytesIO(original)).SOPInstanceUID) is None
            result = verify_report_file(epdf, [case.pki.ca_pem], case.store, audit)
            assert not result.ok and any("changed on disk" in p for p in result.problems), result.problems
        finally:
            _restore(epdf, original)
        assert verify_report_file(epdf, [case.pki.ca_pem], case.store, audit).ok
    refused = sorted(a.detail.split('"refused":"')[1].split('"')[0] for a in _alerts(audit_path))
    assert refused == ["publish", "show", "verify"]


@pytest.mark.parametrize("role", ["sr", "epdf"])
@pytest.mark.parametrize("keyword", ["PatientName", "PatientID", "StudyInstanceUID", "AccessionNumber",
                                     "SOPInstanceUID"])
def test_wrapper_attribute_changed_fails_report_verify(case: SignedCase, tmp_path: Path, role: str,
                                                       keyword: str) -> None:
    path = Path(case.result.sr if role == "sr" else case.result.encapsulated_pdf)
    good = verify_report_file(path, [case.pki.ca_pem], case.store)
    assert good.ok and good.kind == role and good.report_id == case.result.report.id, good.problems
    value = "1.2.826.0.1.3680043.8.498.99" if keyword.endswith("UID") else "FORGED^NAME"
    tampered = _copy_with(path, tmp_path, **{keyword: value})
    result = verify_report_file(tampered, [case.pki.ca_pem], case.store)
    assert not result.ok and result.kind == role
    if role == "epdf":  # the PDF inside is still intact: only the record comparison can catch this
        assert any(keyword in p or "no report record" in p for p in result.problems), result.problems


def test_plain_pdf_and_garbage(case: SignedCase, tmp_path: Path) -> None:
    assert verify_report_file(Path(case.result.pdf), [case.pki.ca_pem], case.store).ok
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\0" * 128 + b"DICM" + b"\xff" * 64)
    assert not verify_report_file(junk, [case.pki.ca_pem], case.store).ok
    other = tmp_path / "ct.dcm"
    shutil.copy(case.source, other)
    result = verify_report_file(other, [case.pki.ca_pem], case.store)
    assert not result.ok and "not a report object" in result.problems[0]


def test_cli_verify_sr_and_tampered_wrapper(case: SignedCase, tmp_path: Path) -> None:
    from tests.core.test_report_cli import telerad

    ca = str(case.pki.ca_pem)
    ok = telerad(case.home, "report", "verify", str(case.result.sr), "--ca", ca, check=False)
    assert ok.returncode == 0 and ok.stdout.startswith("OK: signed by Dr Alice Example") and "SR" in ok.stdout, \
        ok.stdout + ok.stderr
    forged = _copy_with(Path(case.result.encapsulated_pdf), tmp_path, PatientName="FORGED^NAME")
    bad = telerad(case.home, "report", "verify", str(forged), "--ca", ca, check=False)
    assert bad.returncode == 1 and "PatientName differs from the report record" in bad.stdout
    assert "Traceback" not in bad.stderr + ok.stderr


def test_cli_show_and_verify_flag_an_edited_recorded_file(case: SignedCase) -> None:
    from tests.core.test_report_cli import telerad

    sr = Path(case.result.sr)
    original = _edit(sr, sr.stat().st_size // 2)
    try:
        shown = telerad(case.home, "report", "show", case.result.report.study.study_uid, check=False)
        verified = telerad(case.home, "report", "verify", str(sr), "--ca", str(case.pki.ca_pem), check=False)
    finally:
        _restore(sr, original)
    assert shown.returncode == 1 and "INTEGRITY ALERT (sr)" in shown.stdout, shown.stdout + shown.stderr
    assert verified.returncode == 1 and "changed on disk after signing" in verified.stdout
    assert "Traceback" not in shown.stderr + verified.stderr
    alerts = [a for a in _alerts(case.home / "audit.sqlite") if '"role":"sr"' in a.detail]
    assert {a.detail.split('"refused":"')[1].split('"')[0] for a in alerts} >= {"show", "verify"}


def test_addendum_refuses_an_edited_predecessor(case: SignedCase) -> None:
    from app.reporting.integrity import IntegrityError
    from app.reporting.signing import load_identity
    from app.reporting.workflow import report_files_dir, sign_report

    draft = case.store.create_addendum(case.result.report.id, "typo")
    identity = load_identity(case.pki.p12, case.pki.password)
    sr = Path(case.result.sr)
    original = _edit(sr, sr.stat().st_size - 1)
    try:
        with pytest.raises(IntegrityError, match="changed on disk"):
            sign_report(case.store, draft.id, identity, case.source, report_files_dir(case.home))
    finally:
        _restore(sr, original)
    assert case.store.get(draft.id).editable  # nothing signed, the draft stays
