"""PAdES signing of report PDFs with pyHanko; the identity comes from a PKCS#12 file and its password."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

SIGNATURE_FIELD = "RadiologistSignature"
_TITLES = {"dr", "dr.", "prof", "prof.", "mr", "mrs", "ms"}


class SigningError(Exception):
    """The PKCS#12 file could not be opened (wrong password, unreadable) or signing failed."""


@dataclass(frozen=True)
class SigningIdentity:
    """A loaded signer: pyHanko signer object, certificate common name and DICOM person name, plus the
    ``cryptography`` private key and certificate that sign the SR (RSA for the PS3.15 C.4 profile)."""

    signer: Any
    common_name: str
    person_name: str
    key: Any = None
    certificate: Any = None

    @property
    def is_rsa(self) -> bool:
        """True if the key is RSA: only then does the SR signature follow the SR RSA profile."""
        from cryptography.hazmat.primitives.asymmetric import rsa

        return isinstance(self.key, rsa.RSAPrivateKey)


def person_name_from_cn(cn: str) -> str:
    """``Dr Alice Example`` -> DICOM PN ``Example^Alice^^Dr`` (best effort; a name with ``^`` is kept)."""
    if "^" in cn:
        return cn
    words = cn.split()
    prefix = [w for w in words[:1] if w.lower() in _TITLES]
    words = words[len(prefix):]
    if not words:
        return cn
    family, given = words[-1], " ".join(words[:-1])
    return f"{family}^{given}^^{prefix[0]}" if prefix else f"{family}^{given}"


def load_identity(p12: Path, password: Union[bytes, str], person_name: Optional[str] = None) -> SigningIdentity:
    """Open the PKCS#12 (key, certificate and its chain); SigningError on a wrong password."""
    from pyhanko.sign import signers

    from cryptography.hazmat.primitives.serialization import pkcs12

    secret = password.encode("utf-8") if isinstance(password, str) else password
    try:
        data = Path(p12).read_bytes()
        key, cert, _chain = pkcs12.load_key_and_certificates(data, secret)  # checks the password quietly
        signer = signers.SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=secret)
    except (OSError, ValueError) as exc:
        raise SigningError(f"cannot open {Path(p12).name}: wrong password or not a PKCS#12 file") from exc
    cn = signer.signing_cert.subject.native.get("common_name", "") or "Unknown"
    return SigningIdentity(signer, cn, person_name or person_name_from_cn(cn), key, cert)


def sign_pdf(pdf: bytes, identity: SigningIdentity, reason: str = "Radiology report", location: str = "") -> bytes:
    """Certify ``pdf`` (PAdES baseline B-B, DocMDP: no changes allowed) and return the signed bytes."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        certify=True, docmdp_permissions=fields.MDPPerm.NO_CHANGES, reason=reason,
        location=location or None, name=identity.common_name,
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        out = signers.sign_pdf(writer, meta, signer=identity.signer)
    except Exception as exc:
        raise SigningError(f"signing failed: {exc}") from exc
    return out.getvalue()
