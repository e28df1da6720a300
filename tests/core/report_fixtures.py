"""Helpers for the report tests: a test CA + radiologist PKCS#12 made with ``cryptography``, a source study."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

PASSWORD = b"correct horse battery staple"
STUDY_DIR = ("ct", "philips_phantom_study1_1mm")


@dataclass(frozen=True)
class Pki:
    """Paths of the generated test PKI."""

    ca_pem: Path
    p12: Path
    password: bytes
    radiologist: str


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "GB"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Telerad Test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _new_key(key_type: str):  # noqa: ANN202 - an EC or RSA private key
    return rsa.generate_private_key(65537, 2048) if key_type == "rsa" else ec.generate_private_key(ec.SECP256R1())


def make_pki(folder: Path, radiologist: str = "Dr Alice Example", key_type: str = "ec") -> Pki:
    """A self-signed CA and a radiologist certificate (digitalSignature + nonRepudiation) in a PKCS#12;
    ``key_type`` "rsa" gives RSA-2048 keys (the SR RSA Digital Signature Profile needs RSA)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = _new_key(key_type)
    ca_cert = (
        x509.CertificateBuilder().subject_name(_name("Telerad Test CA")).issuer_name(_name("Telerad Test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = _new_key(key_type)
    cert = (
        x509.CertificateBuilder().subject_name(_name(radiologist)).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_pem = folder / "ca.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    p12 = folder / "radiologist.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"radiologist", key, cert, [ca_cert], serialization.BestAvailableEncryption(PASSWORD)))
    return Pki(ca_pem, p12, PASSWORD, radiologist)


def study_files(shared_data: Path) -> list[Path]:
    """The CT instances of the shared phantom study (the DIRFILE is not an instance)."""
    folder = shared_data.joinpath(*STUDY_DIR)
    return sorted(p for p in folder.iterdir() if p.name != "DIRFILE")


def key_image_png(source: Path, out: Path) -> Path:
    """A windowed (W/L 80/40) PNG of one CT slice: a realistic key-image thumbnail."""
    import numpy as np
    import pydicom
    from PIL import Image

    ds = pydicom.dcmread(str(source))
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    grey = np.clip((hu - (40 - 40)) / 80 * 255, 0, 255).astype(np.uint8)
    Image.fromarray(grey).resize((256, 256)).save(out)
    return out


@dataclass
class SignedCase:
    """A report for the shared CT study, signed through the workflow, plus everything needed to check it."""

    home: Path
    pki: Pki
    source: Path
    store: object
    result: object
    seconds: float


def sign_shared_study(home: Path, shared_data: Path, node: str | None = None, key_type: str = "ec") -> SignedCase:
    """Draft (auto template) + measurement + key image + critical flag, then sign it; returns the case."""
    import time

    from app.reporting.model import CriticalNotice, ImageRef, KeyImage, Measurement
    from app.reporting.signing import load_identity
    from app.reporting.store import ReportStore
    from app.reporting.templates import load_templates
    from app.reporting.workflow import report_db_path, report_files_dir, sign_report, start_draft

    pki = make_pki(home / "pki", key_type=key_type)
    files = study_files(shared_data)
    source = files[len(files) // 2]
    store = ReportStore(report_db_path(home))
    report = start_draft(store, source, load_templates())
    store.update_section(report.id, "clinical_information", "Fall from standing height; headache.")
    src = __import__("pydicom").dcmread(str(source), stop_before_pixels=True)
    ref = ImageRef(src.SOPClassUID, src.SOPInstanceUID, src.SeriesInstanceUID)
    store.add_measurement(report.id, Measurement("Length", 23.4, "mm", ref))
    store.add_measurement(report.id, Measurement("Mean attenuation", 35.0, "[hnsf'U]", ref))
    png = key_image_png(source, home / "key.png")
    store.add_key_image(report.id, KeyImage(ref, str(png), "Axial, level of the ventricles"))
    store.set_critical(report.id, True, "Phantom: no real finding (test of the critical workflow)")
    store.record_critical_notice(report.id, CriticalNotice("Dr Bob Referrer", "phone", "2025-01-02T10:00:00+00:00",
                                                           "Example^Alice^^Dr"))
    identity = load_identity(pki.p12, pki.password)
    t0 = time.perf_counter()
    result = sign_report(store, report.id, identity, source, report_files_dir(home), node=node)
    return SignedCase(home, pki, source, store, result, time.perf_counter() - t0)
