"""Signed PDF: pyHanko and pdfsig accept the good file; a byte flip, an appended page and an incremental
update are each rejected by both."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest

from app.reporting.signing import SigningError, load_identity
from app.reporting.verify import verify_pdf
from tests.core.report_fixtures import SignedCase, make_pki, sign_shared_study


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> SignedCase:
    return sign_shared_study(tmp_path_factory.mktemp("signed"), shared_data)


@pytest.fixture(scope="module")
def nss_db(case: SignedCase) -> str:
    folder = case.home / "nss"
    folder.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{folder}", "-n", "telerad-test-ca", "-t", "CT,C,C",
                    "-i", str(case.pki.ca_pem)], check=True)
    return f"sql:{folder}"


def pdfsig_ok(path: Path, nss: str) -> tuple[bool, str]:
    """pdfsig verdict: valid signature, trusted certificate, and the whole document signed."""
    out = subprocess.run(["pdfsig", "-nssdir", nss, str(path)], capture_output=True, text=True)
    text = out.stdout + out.stderr
    lines = {line.strip() for line in text.splitlines()}
    good = ("- Signature Validation: Signature is Valid." in lines
            and "- Certificate Validation: Certificate is Trusted." in lines
            and "- Total document signed" in lines and text.count("Signature #") == 1)
    return good, text


def _byte_flip(data: bytes) -> bytes:
    start = data.index(b"/Producer (") + len(b"/Producer (")
    ranges = [int(x) for x in re.search(rb"/ByteRange \[\s*(\d+) (\d+) (\d+) (\d+)", data).groups()]
    assert start < ranges[1]  # inside the signed bytes
    return data[:start] + bytes([data[start] ^ 0x01]) + data[start + 1:]


def _append_page(data: bytes) -> bytes:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    w = IncrementalPdfFileWriter(io.BytesIO(data))
    stream = w.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 720 Td (Forged page) Tj ET"))
    font = generic.DictionaryObject({generic.NameObject("/Type"): generic.NameObject("/Font"),
                                     generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
                                     generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica")})
    page = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Page"),
        generic.NameObject("/MediaBox"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)]),
        generic.NameObject("/Contents"): stream,
        generic.NameObject("/Resources"): generic.DictionaryObject({
            generic.NameObject("/Font"): generic.DictionaryObject({generic.NameObject("/F1"): w.add_object(font)})}),
    })
    w.insert_page(page)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def _incremental_update(data: bytes) -> bytes:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    w = IncrementalPdfFileWriter(io.BytesIO(data))
    w.root[generic.NameObject("/Lang")] = generic.TextStringObject("fr-FR")
    w.update_root()
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def test_good_pdf_verifies_with_pyhanko_and_pdfsig(case: SignedCase, nss_db: str) -> None:
    pdf = case.result.pdf
    result = verify_pdf(pdf, [case.pki.ca_pem])
    assert result.ok, result.problems
    assert result.signer == case.pki.radiologist and result.signatures == 1
    assert result.details["coverage"] == "ENTIRE_FILE" and result.details["modification_level"] == "NONE"
    good, text = pdfsig_ok(pdf, nss_db)
    assert good, text
    assert "Signature Type: ETSI.CAdES.detached" in text  # PAdES
    print(f"\nsigned PDF {pdf.stat().st_size} bytes; sign_report {case.seconds:.2f} s; steps {case.result.timings}")


def test_pdf_content(case: SignedCase) -> None:
    text = subprocess.run(["pdftotext", "-layout", str(case.result.pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    report = case.result.report
    for expected in ("Radiology report", "Patient", "HEAD", "PLASTIC", "Clinical information", "Findings",
                     "Impression", "No intracranial hemorrhage.", "Fall from standing height",
                     "CRITICAL FINDING", "Dr Bob Referrer", "Length: 23.4 mm", "Key images",
                     "Electronically signed by Example, Alice", report.content_hash):
        assert expected in text, expected
    images = subprocess.run(["pdfimages", "-list", str(case.result.pdf)], capture_output=True, text=True).stdout
    assert len(images.strip().splitlines()) >= 3  # header lines + the key-image thumbnail


@pytest.mark.parametrize("tamper", [_byte_flip, _append_page, _incremental_update],
                         ids=["byte-flip", "appended-page", "incremental-update"])
def test_tampered_pdf_fails_both_verifiers(case: SignedCase, nss_db: str, tamper, tmp_path: Path) -> None:
    bad = tmp_path / "tampered.pdf"
    bad.write_bytes(tamper(case.result.pdf.read_bytes()))
    result = verify_pdf(bad, [case.pki.ca_pem])
    assert not result.ok and result.problems
    good, text = pdfsig_ok(bad, nss_db)
    assert not good, text


def test_untrusted_ca_and_wrong_password(case: SignedCase, tmp_path: Path) -> None:
    stranger = make_pki(tmp_path / "other")
    result = verify_pdf(case.result.pdf, [stranger.ca_pem])
    assert not result.ok and "signer not trusted" in result.problems
    with pytest.raises(SigningError):
        load_identity(case.pki.p12, b"wrong password")
    assert not verify_pdf(b"%PDF-1.4 not really", [case.pki.ca_pem]).ok
