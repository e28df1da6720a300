"""Helpers shared by the pixel-pipeline tests (decode, pixels, geometry, volume, render)."""

from __future__ import annotations

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"

CT_DIR = "ct/philips_phantom_study1_1mm"
TILTED_DIR = "ct/philips_phantom_study2_tilted"
MR_SAG_DIR = "mr/siemens_sag_t1_3yo_192slices"

#: Lossy DCT JPEG: libjpeg-turbo and libjpeg differ in IDCT / chroma upsampling rounding.
LOSSY_DCT = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}

#: Files no installed decoder can (or should) decode: each must raise DecodeError.
MUST_FAIL = {
    "malformed/pydicom/MR_truncated.dcm",
    "malformed/pydicom/JPEG2000-embedded-sequence-delimiter.dcm",
    "malformed/pydicom/badVR.dcm",
    "malformed/pydicom/meta_missing_tsyntax.dcm",
    "malformed/pydicom/nested_priv_SQ.dcm",
    "malformed/pydicom_data/emri_small_jpeg_2k_lossless_too_short.dcm",
    "malformed/fo_dicom/GH177_D_CLUNIE_CT1_IVRLE_BigEndian_undefined_length.dcm",
}


def data_files() -> list[str]:
    """Every candidate DICOM file under shared/data, relative, sorted (empty if missing)."""
    if not SHARED.is_dir():
        return []
    skip = (".md", ".txt", ".sh", ".json", ".csv", ".png", ".pdf")
    return sorted(
        str(p.relative_to(SHARED))
        for p in SHARED.rglob("*")
        if p.is_file() and "LICENSES" not in p.parts and not p.name.endswith(skip)
    )


def series_files(folder: str) -> list[Path]:
    """Image files of a series folder (the Philips DIRFILE is not an image)."""
    return sorted(p for p in (SHARED / folder).iterdir() if p.is_file() and p.name != "DIRFILE")


def series_refs(folder: str):
    """SliceRefs of a series folder, read from the files' headers."""
    from app.dicom.series import read_slice_refs

    return [ref for p in series_files(folder) for ref in read_slice_refs(p)]


def reference_decode(ds):
    """pydicom's own decode, as it is without our plugin registration (pylibjpeg first)."""
    from pydicom.pixels.decoders.base import get_decoder

    ts = ds.file_meta.TransferSyntaxUID
    decoder = get_decoder(ts)
    if not ts.is_encapsulated:
        return decoder.as_array(ds)[0]
    errors = []
    for plugin in ("gdcm", "pylibjpeg", "pyjpegls", "pillow", "pydicom"):
        if plugin in decoder.available_plugins:
            try:
                return decoder.as_array(ds, decoding_plugin=plugin)[0]
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{plugin}: {exc}")
    raise RuntimeError("; ".join(errors) or "no plugin")
