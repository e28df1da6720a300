"""pydicom 3 decoder plugin backed by imagecodecs (libjpeg-turbo, CharLS, OpenJPEG, OpenJPH).

Follows the contract of ``pydicom.pixels.decoders.pyjpegls``: ``_decode_frame(src, runner)``
returns the decoded frame as a bytes-like object in the dataset's own colour space and sets
runner options (planar configuration, bits allocated, photometric interpretation) so that
pydicom's post-processing (sign correction, YBR -> RGB, reshaping) stays in charge.
Registered lazily by :func:`app.dicom.codecs.ensure_plugins`; not meant to be used directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydicom import uid

if TYPE_CHECKING:  # pragma: no cover
    from pydicom.pixels.decoders.base import DecodeRunner

_JPEG = (uid.JPEGBaseline8Bit, uid.JPEGExtended12Bit, uid.JPEGLossless, uid.JPEGLosslessSV1)
_JPEGLS = (uid.JPEGLSLossless, uid.JPEGLSNearLossless)
_J2K = (uid.JPEG2000Lossless, uid.JPEG2000)
_HTJ2K = (uid.HTJ2KLossless, uid.HTJ2KLosslessRPCL)

#: Transfer syntaxes this plugin can decode, with the imagecodecs codec used for each.
CODEC_FOR_SYNTAX: dict[str, str] = {
    **{ts: "jpeg8" for ts in _JPEG},
    **{ts: "jpegls" for ts in _JPEGLS},
    **{ts: "jpeg2k" for ts in _J2K},
    **{ts: "htj2k" for ts in _HTJ2K},
    # OpenJPH (htj2k_decode) wraps instead of clamping out-of-range samples of irreversible
    # (lossy) codestreams (255 -> 0 seen on HTJ2K_08_RGB.dcm); OpenJPEG decodes HT correctly.
    uid.HTJ2K: "jpeg2k",
}

DECODER_DEPENDENCIES = {ts: ("numpy", "imagecodecs>=2024.1") for ts in CODEC_FOR_SYNTAX}


def is_available(uid_: str) -> bool:
    """Return True if imagecodecs is importable and has the codec for ``uid_``."""
    codec = CODEC_FOR_SYNTAX.get(uid_)
    if codec is None:
        return False
    try:
        import imagecodecs
    except ImportError:
        return False
    return bool(getattr(imagecodecs, codec.upper()).available)


def _decode_jpeg(src: bytes, runner: "DecodeRunner") -> Any:
    """libjpeg-turbo (8/12-bit DCT and lossless process 14): no colour transform."""
    import imagecodecs

    if runner.samples_per_pixel == 3:
        # Same colour space in and out: libjpeg returns the raw components, like the
        # pillow plugin's draft("YCbCr"); pydicom does any YBR -> RGB itself.
        space = "RGB" if runner.photometric_interpretation == "RGB" else "YCbCr"
        return imagecodecs.jpeg8_decode(src, colorspace=space, outcolorspace=space)
    return imagecodecs.jpeg8_decode(src)


def _decode(src: bytes, runner: "DecodeRunner") -> Any:
    import imagecodecs

    codec = CODEC_FOR_SYNTAX[runner.transfer_syntax]
    if codec == "jpeg8":
        return _decode_jpeg(src, runner)
    if codec == "jpegls":
        return imagecodecs.jpegls_decode(src)
    if codec == "jpeg2k":
        return imagecodecs.jpeg2k_decode(src, numthreads=1)
    return imagecodecs.htj2k_decode(src)


def _decode_frame(src: bytes, runner: "DecodeRunner") -> memoryview:
    """Decode one encoded frame; raise ValueError when the output does not fit the header."""
    arr = _decode(src, runner)
    spp = runner.samples_per_pixel
    expected = (runner.rows, runner.columns) if spp == 1 else (runner.rows, runner.columns, spp)
    if arr.shape != expected:
        # e.g. a codec returning an empty array instead of raising, or a wrong-size image
        raise ValueError(f"imagecodecs decoded shape {arr.shape}, header says {expected}")
    if arr.dtype.kind not in "ui" or arr.dtype.itemsize > 4:
        raise ValueError(f"imagecodecs returned unsupported dtype {arr.dtype}")

    runner.set_option("bits_allocated", arr.dtype.itemsize * 8)
    if spp > 1:
        runner.set_option("planar_configuration", 0)  # all codecs return colour-by-pixel
        if runner.transfer_syntax in (*_J2K, *_HTJ2K, uid.HTJ2K) and runner.photometric_interpretation in (
            "YBR_ICT",
            "YBR_RCT",
        ):
            # OpenJPEG / OpenJPH apply the inverse multi-component transform
            runner.set_option("photometric_interpretation", "RGB")
    return memoryview(arr.reshape(-1).view("u1"))
