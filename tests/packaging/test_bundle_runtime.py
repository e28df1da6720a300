"""What the installed bundle can do without the development venv: decode every transfer syntax
with its own decoders (no GPL pylibjpeg-libjpeg, no pylibjpeg-openjpeg/pyjpegls in it), and
build, sign and verify a report (pyHanko, lxml, aiohttp, highdicom, reportlab) from the CLI.
Uses the session's build (tests/packaging/conftest.py).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.packaging.conftest import NOT_BUNDLED, clean_env

pytestmark = pytest.mark.slow

NOT_BUNDLED_FILES = ("libjpeg", "openjpeg", "jpeg_ls", "_libjpeg", "_openjpeg", "_CharLS", "fontTools", "matplotlib")
SAME_MR = "dcm_qa_ts_same_mr_9_syntaxes"  # one MR image in 9 encodings, identical pixels
JPEG_EXTENDED = ("compressed/pydicom/JPGExtended.dcm", "cr_dx/RG2_JPLY_fixed.dcm")  # 12-bit lossy DCT
HTJ2K = ("compressed/pydicom_data_git/HTJ2KLossless_08_RGB.dcm", "compressed/pydicom_data_git/HTJ2K_08_RGB.dcm")


def test_not_bundled_distributions_are_absent(installed: Path) -> None:
    internal = installed / "opt" / "telerad" / "_internal"
    present = [p.name for p in internal.iterdir() if p.name.split(".")[0] in NOT_BUNDLED_FILES
               or re.match(r"(pylibjpeg_libjpeg|pylibjpeg_openjpeg|pyjpegls|matplotlib|fonttools)-", p.name)]
    assert present == []
    index = (installed / "opt" / "telerad" / "licenses" / "THIRD-PARTY-NOTICES.txt").read_text()
    for dist in NOT_BUNDLED:
        assert not re.search(rf"^{dist} ", index, re.MULTILINE | re.IGNORECASE), dist
    assert re.search(r"^imagecodecs ", index, re.MULTILINE)


def test_bundle_decodes_every_transfer_syntax(installed: Path, shared_data: Path, xdisplay: str,
                                              tmp_path: Path) -> None:
    """The bundle's decoders give the venv's pixels: exact for lossless and HTJ2K, +-1 for lossy 12-bit DCT."""
    from pydicom.pixels import pixel_array

    from app.dicom.codecs import decode_all

    compressed = shared_data / "compressed"
    same = sorted((compressed / SAME_MR).glob("*.dcm"), key=lambda p: int(p.stem))
    files = same + [shared_data / f for f in JPEG_EXTENDED + HTJ2K]
    out = tmp_path / "decoded.npz"
    proc = subprocess.run([str(installed / "opt" / "telerad" / "telerad"), "--decode-check", str(out),
                           *map(str, files)], cwd=tmp_path, env=clean_env(xdisplay, tmp_path / "home"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(files) and all(line.startswith("ok ") for line in lines), proc.stdout
    syntaxes = {re.search(r": (.*) \[", line).group(1) for line in lines}
    assert len(syntaxes) >= 10, syntaxes  # 7 in the MR set + JPEG extended + HTJ2K lossless + HTJ2K
    for line in lines:
        if "RLE" not in line:
            assert "pylibjpeg" not in line and "pyjpegls" not in line, line
    decoded = np.load(out)
    reference = decode_all(same[0])  # explicit VR little endian: no decoder involved
    for i, path in enumerate(same):
        assert np.array_equal(decoded[f"f{i}"], reference), path.name
    for i, path in enumerate(files[len(same):], start=len(same)):
        ours = decoded[f"f{i}"]
        assert np.array_equal(ours, decode_all(path)), path.name  # same decoder as in the venv
        other = pixel_array(path, decoding_plugin="pylibjpeg")  # an independent decoder (venv only)
        tolerance = 1 if path.name in {Path(f).name for f in JPEG_EXTENDED} else 0
        assert ours.shape == other.shape
        assert np.abs(ours.astype(np.int32) - other.astype(np.int32)).max() <= tolerance, path.name


def run(binary: Path, *args: str, env: dict[str, str], cwd: Path) -> str:
    proc = subprocess.run([str(binary), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"telerad {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
    return proc.stdout


def sign_demo_report(binary: Path, env: dict[str, str], data: str, tmp_path: Path) -> tuple[dict, str, Any]:
    """Import the bundled demo CT, draft and sign its report with the installed binary: (study, sign output, PKI)."""
    from tests.core.report_fixtures import make_pki

    pki = make_pki(tmp_path)
    password = tmp_path / "password"
    password.write_bytes(pki.password)
    text = tmp_path / "report.txt"
    text.write_text("Findings:\nNo acute intracranial abnormality.\nImpression:\nNormal phantom.\n")
    samples = binary.parent / "_internal" / "resources" / "samples" / "ct-head-phantom"
    unlock = tmp_path / "account-password"
    unlock.write_text("bundle account password\n")
    run(binary, "--data-dir", data, "user", "add", "reader", "--new-password-file", str(unlock), env=env, cwd=tmp_path)
    env["TELERAD_PASSWORD_FILE"] = str(unlock)  # an encrypted folder, as every real one: SQLCipher and AES-GCM
    run(binary, "--data-dir", data, "import", str(samples), env=env, cwd=tmp_path)
    study = json.loads(run(binary, "--data-dir", data, "studies", "--json", env=env, cwd=tmp_path))[0]
    uid = study["study_instance_uid"]
    run(binary, "--data-dir", data, "report", "draft", uid, "--text-file", str(text), env=env, cwd=tmp_path)
    signed = run(binary, "--data-dir", data, "report", "sign", uid, "--p12", str(pki.p12), "--password-file",
                 str(password), env=env, cwd=tmp_path)
    return study, signed, pki


def test_bundle_signs_and_verifies_a_report(installed: Path, xdisplay: str, tmp_path: Path) -> None:
    """Report PDF (reportlab), PAdES signature (pyHanko: lxml, aiohttp), SR (highdicom), verification."""
    from pydicom import dcmread

    binary = installed / "opt" / "telerad" / "telerad"
    env, data = clean_env(xdisplay, tmp_path / "home"), str(tmp_path / "data")
    study, signed, pki = sign_demo_report(binary, env, data, tmp_path)
    uid = study["study_instance_uid"]
    stored = dict(re.findall(r"^(pdf|sr|epdf): +(\S+)$", signed, re.MULTILINE))
    assert set(stored) == {"pdf", "sr", "epdf"}, signed
    assert not Path(stored["pdf"]).read_bytes().startswith(b"%PDF")  # encrypted at rest
    copies = run(binary, "--data-dir", data, "report", "export", uid, str(tmp_path / "copies"), env=env, cwd=tmp_path)
    outputs = {re.search(r"-(pdf|sr|epdf)\.\w+$", line).group(1): line for line in copies.split()}  # type: ignore[union-attr]
    assert set(outputs) == {"pdf", "sr", "epdf"}, copies
    verdict = json.loads(run(binary, "--data-dir", data, "report", "verify", outputs["pdf"], "--ca",
                             str(pki.ca_pem), "--json", env=env, cwd=tmp_path))
    assert verdict["ok"] and verdict["signer"] == pki.radiologist and not verdict["problems"], verdict
    sr = dcmread(outputs["sr"])
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.33" and sr.StudyInstanceUID == uid  # Comprehensive SR
    assert "Normal phantom." in str(sr.ContentSequence)
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(Path(outputs["pdf"]).read_bytes() + b"%tampered\n")
    proc = subprocess.run([str(binary), "--data-dir", data, "report", "verify", str(tampered), "--ca",
                           str(pki.ca_pem), "--json"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode != 0 or not json.loads(proc.stdout)["ok"], proc.stdout


def test_bundle_sends_an_hl7_result_to_a_ris(installed: Path, xdisplay: str, tmp_path: Path) -> None:
    """With "hl7" in reporting.json the installed binary builds the ORU^R01 (hl7apy) at signing and the outbox
    delivers it over MLLP (python-hl7) to a real MLLP server."""
    import hl7

    from tests.core.net_peers import free_port
    from tests.core.test_report_hl7 import Ris

    binary = installed / "opt" / "telerad" / "telerad"
    env, data = clean_env(xdisplay, tmp_path / "home"), tmp_path / "data"
    port = free_port()
    (data / "config").mkdir(parents=True)
    (data / "config" / "reporting.json").write_text(json.dumps({"hl7": {
        "host": "127.0.0.1", "port": port, "receiving_application": "RIS", "receiving_facility": "HOSPITAL"}}))
    study, _signed, _pki = sign_demo_report(binary, env, str(data), tmp_path)
    with Ris(port) as ris:
        run(binary, "--data-dir", str(data), "outbox", "send", "--once", env=env, cwd=tmp_path)
    assert len(ris.received) == 1
    message = hl7.parse(ris.received[0].decode("utf-8"))
    assert str(message.segment("MSH")[9]) == "ORU^R01^ORU_R01" and str(message.segment("OBR")[25]) == "F"
    assert str(message.segment("PID")[3]) == study["patient_id"]
    assert "Normal phantom." in str(message)
