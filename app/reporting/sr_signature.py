"""DICOM Digital Signature of our SR (PS3.15 C.4 Structured Report RSA Digital Signature Profile), also
used for our Encapsulated PDF wrapper (same MAC rules; the profile itself is about SR).

No Python library writes DICOM signatures (pydicom, highdicom: none), so the MAC of PS3.3 C.12.1.1.3.1.1
is built here, as dcmtk's ``dcmsign`` builds and checks it: the signed top-level elements in tag order,
Explicit VR Little Endian; a sequence is its tag and VR, each item's tag and elements, then a Sequence
Delimitation tag (no sequence/item lengths, no item delimiters); then the Digital Signatures item's own
elements except Certificate of Signer, Signature and the certified timestamp. The MAC (SHA-256) is signed
with RSA PKCS#1 v1.5 (the profile; an EC key gives an ECDSA signature outside the profile).

We sign every signable top-level element (a superset of the C.4 list, which also covers the patient
and study identifiers), and verification flags any top-level element left out of the signature.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

from app.reporting.verify import SignatureVerification

if TYPE_CHECKING:
    from pydicom import Dataset

EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
MAC_ALGORITHM = "SHA256"
CERTIFICATE_TYPE = "X509_1993_SIG"
DIGITAL_SIGNATURES_SEQUENCE = 0xFFFAFFFA
MAC_PARAMETERS_SEQUENCE = 0x4FFE0001
_UNSIGNABLE = {DIGITAL_SIGNATURES_SEQUENCE, MAC_PARAMETERS_SEQUENCE, 0xFFFCFFFC}
_NOT_IN_ITEM_MAC = {0x04000115, 0x04000120, 0x04000305, 0x04000310}  # cert, signature, timestamp type/value
VERIFICATION_PURPOSE = ("5", "ASTM-sigpurpose", "Verification Signature")  # CID 7007, E1762
# PS3.15 C.4: attributes the SR RSA profile signs (when present); SOP Instance UID added by the base profile.
PROFILE_REQUIRED = ("SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID")
PROFILE_IF_PRESENT = (
    "SOPInstanceUID", "Manufacturer", "InstitutionName", "InstitutionAddress", "StationName",
    "InstitutionalDepartmentName", "ManufacturerModelName", "DeviceSerialNumber", "SoftwareVersions",
    "CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence",
    "PredecessorDocumentsSequence", "ObservationDateTime", "ValueType", "ConceptNameCodeSequence",
    "ContinuityOfContent", "ContentTemplateSequence", "ObservationUID", "ContentSequence",
    "VerifyingObserverSequence", "VerificationFlag")


class SrSignatureError(Exception):
    """The SR could not be signed (unsupported key, unencodable element)."""


@dataclass(frozen=True)
class SrVerification(SignatureVerification):
    """Outcome of :func:`verify_sr`; ``ok`` only when ``problems`` is empty."""


def _tag(value: int) -> bytes:
    return struct.pack("<HH", value >> 16, value & 0xFFFF)


def _encode_item(item: "Dataset", keep: Optional[set[int]] = None) -> bytes:
    """The signature-format bytes of the elements of ``item`` (all, or those in ``keep``), in tag order."""
    return b"".join(_encode_element(item, tag) for tag in sorted(item.keys())
                    if (keep is None or int(tag) in keep) and int(tag) & 0xFFFF != 0)


def _encode_element(ds: "Dataset", tag: Any) -> bytes:
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_data_element

    elem = ds.get_item(tag)
    if elem.VR == "SQ":
        items = ds[tag].value
        body = b"".join(_tag(0xFFFEE000) + _encode_item(i) for i in items)
        return _tag(int(tag)) + b"SQ\0\0" + body + _tag(0xFFFEE0DD)
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_data_element(fp, elem, ds.get("SpecificCharacterSet"))
    return fp.getvalue()


def mac_stream(ds: "Dataset", signed: Iterable[int], signature_item: "Dataset") -> bytes:
    """The byte stream fed to the MAC algorithm (PS3.3 C.12.1.1.3.1.1, DICOM 2021+ with the item part)."""
    keep = set(int(t) for t in signed)
    item_keep = {int(t) for t in signature_item.keys() if int(t) not in _NOT_IN_ITEM_MAC}
    return _encode_item(ds, keep) + _encode_item(signature_item, item_keep)


def signable_tags(ds: "Dataset") -> list[int]:
    """Top-level elements a signature should cover: all but group lengths and the signature sequences."""
    return [int(t) for t in sorted(ds.keys()) if int(t) not in _UNSIGNABLE and int(t) & 0xFFFF != 0]


def _code(value: str, scheme: str, meaning: str) -> "Dataset":
    from pydicom import Dataset

    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _sign_bytes(key: Any, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        sig = key.sign(data, ec.ECDSA(hashes.SHA256()))
        return sig + (b"\0" if len(sig) % 2 else b"")  # OB value: even length (dcmtk strips the pad)
    raise SrSignatureError(f"cannot sign an SR with a {type(key).__name__} key (RSA or EC needed)")


def _dicom_now(now: Optional[datetime]) -> str:
    when = (now or datetime.now(timezone.utc)).astimezone()
    return when.strftime("%Y%m%d%H%M%S.%f") + when.strftime("%z")


def sign_sr(ds: "Dataset", key: Any, certificate: Any, now: Optional[datetime] = None) -> "Dataset":
    """Add MAC Parameters and Digital Signatures sequences (MAC ID 0, verification purpose) to ``ds`` in
    place and return it. ``ds`` should be read back from its encoded bytes, so that the MAC is computed
    over exactly the bytes that will be written (raw elements are written unchanged)."""
    from cryptography.hazmat.primitives.serialization import Encoding
    from pydicom import Dataset
    from pydicom.uid import generate_uid

    if DIGITAL_SIGNATURES_SEQUENCE in ds:
        raise SrSignatureError("the SR is already signed")
    signed = signable_tags(ds)
    item = Dataset()
    item.MACIDNumber = 0
    item.DigitalSignatureUID = generate_uid()
    item.DigitalSignatureDateTime = _dicom_now(now)
    item.CertificateType = CERTIFICATE_TYPE
    item.DigitalSignaturePurposeCodeSequence = [_code(*VERIFICATION_PURPOSE)]
    try:
        signature = _sign_bytes(key, mac_stream(ds, signed, item))
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise SrSignatureError(f"cannot compute the SR signature: {exc}") from exc
    item.CertificateOfSigner = certificate.public_bytes(Encoding.DER)
    item.Signature = signature
    mac = Dataset()
    mac.MACIDNumber = 0
    mac.MACCalculationTransferSyntaxUID = EXPLICIT_VR_LE
    mac.MACAlgorithm = MAC_ALGORITHM
    mac.DataElementsSigned = signed
    ds.MACParametersSequence = [mac]
    ds.DigitalSignaturesSequence = [item]
    return ds


def _verify_bytes(public_key: Any, signature: bytes, data: bytes) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    if isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(_strip_der_pad(signature), data, ec.ECDSA(hashes.SHA256()))
    else:
        raise ValueError(f"unsupported key {type(public_key).__name__}")


def _strip_der_pad(sig: bytes) -> bytes:
    """A DER SEQUENCE's own length (the OB value may carry one pad byte)."""
    if len(sig) > 2 and sig[0] == 0x30:
        n = sig[1]
        size = 2 + n if n < 0x80 else 2 + (n & 0x7F) + int.from_bytes(sig[2:2 + (n & 0x7F)], "big")
        return sig[:size]
    return sig


def _trusted(cert: Any, roots: Sequence[Any], at: datetime) -> Optional[str]:
    """None if ``cert`` is (or is issued by) one of ``roots`` and valid at ``at``, else the problem."""
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        return "signer certificate not valid at the signing time"
    for root in roots:
        if cert == root:
            return None
        try:
            cert.verify_directly_issued_by(root)
            return None
        except Exception:  # InvalidSignature, wrong key type: not this root
            continue
    return "signer not trusted"


def _signing_time(item: "Dataset") -> datetime:
    from pydicom.valuerep import DT

    try:
        when = DT(str(item.get("DigitalSignatureDateTime", "")))
        return when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)
    except (ValueError, TypeError):
        return datetime.now(timezone.utc)


def _check_item(ds: "Dataset", item: "Dataset", macs: dict[int, "Dataset"], roots: Sequence[Any]) -> list[str]:
    from cryptography import x509

    mac = macs.get(int(item.get("MACIDNumber", -1)))
    if mac is None:
        return ["signature has no MAC parameters"]
    if str(mac.get("MACAlgorithm", "")) != MAC_ALGORITHM or \
            str(mac.get("MACCalculationTransferSyntaxUID", "")) != EXPLICIT_VR_LE:
        return [f"unsupported MAC {mac.get('MACAlgorithm')} / {mac.get('MACCalculationTransferSyntaxUID')}"]
    signed = [int(t) for t in (mac.get("DataElementsSigned") or [])]
    cert = x509.load_der_x509_certificate(_strip_der_pad(bytes(item.CertificateOfSigner)))
    problems = []
    try:
        _verify_bytes(cert.public_key(), bytes(item.Signature), mac_stream(ds, signed, item))
    except Exception:  # InvalidSignature or an unusable key: the content is not what was signed
        problems.append("signature does not match the content (SR changed after signing)")
    trust = _trusted(cert, roots, _signing_time(item))
    if trust:
        problems.append(trust)
    unsigned = [t for t in signable_tags(ds) if t not in signed]
    if unsigned:
        from pydicom.datadict import keyword_for_tag

        problems.append("attributes not covered by the signature: "
                        + ", ".join(keyword_for_tag(t) or f"{t:08X}" for t in unsigned[:8]))
    return problems


def verify_sr(ds: "Dataset", trust_roots: Sequence[Any]) -> SrVerification:
    """Check every Digital Signature of ``ds`` (as read from its file) against certificates ``trust_roots``
    (``cryptography`` x509 objects); a VERIFIED SR without a signature is bad."""
    items = list(ds.get("DigitalSignaturesSequence") or [])
    if not items:
        return SrVerification(False, ("no digital signature",))
    macs = {int(m.get("MACIDNumber", -1)): m for m in ds.get("MACParametersSequence") or []}
    problems: list[str] = []
    for item in items:
        try:
            problems += _check_item(ds, item, macs, trust_roots)
        except Exception as exc:  # a damaged signature item is simply bad
            problems.append(f"cannot check the signature: {type(exc).__name__}")
    first = items[0]
    signer = ""
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        cert = x509.load_der_x509_certificate(_strip_der_pad(bytes(first.CertificateOfSigner)))
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        signer = str(names[0].value) if names else ""
    except Exception:  # already reported above
        pass
    return SrVerification(not problems, tuple(dict.fromkeys(problems)), signer,
                          str(first.get("DigitalSignatureDateTime", "")), len(items))
