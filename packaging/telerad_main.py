"""Entry point of the frozen (PyInstaller) workstation: the `telerad` command line.

``freeze_support`` must run first: the volume loader's forkserver and multiprocessing's
resource tracker re-execute this binary, and PyInstaller's hook dispatches those calls there.

``telerad -c CODE`` runs Python code like ``python -c``: app.viewer.gl_probe checks OpenGL in
a child process started as ``sys.executable -c ...``, and in the bundle that is this binary.

``telerad --decode-check OUT.npz FILE...`` (frozen bundle only, for tests/packaging): decode
every frame of each DICOM file with the bundle's own decoders and save the arrays (``f0``,
``f1``... in argument order) to OUT.npz; prints one line per file; exit 1 if any fails.
"""

import multiprocessing
import sys


def decode_check(out: str, files: list[str]) -> int:
    import numpy as np

    from app.dicom.codecs import DecodeError, decode_all, plugin_order, read_dataset

    arrays, failed = {}, 0
    for i, path in enumerate(files):
        ts = read_dataset(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
        try:
            arrays[f"f{i}"] = arr = decode_all(path)
        except DecodeError as exc:
            failed += 1
            print(f"FAILED {path}: {ts.name}: {exc.reason}")
            continue
        plugins = ", ".join(plugin_order(ts)) if ts.is_compressed else "native"
        print(f"ok {path}: {ts.name} [{plugins}] {arr.shape} {arr.dtype}")
    np.savez(out, **arrays)
    return 1 if failed else 0


def run_code(code: str, args: list[str]) -> int:
    """``python -c CODE ARGS...``: run ``code`` as ``__main__`` with ``sys.argv = ["-c", *args]``."""
    sys.argv = ["-c", *args]
    exec(compile(code, "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    return 0


if __name__ == "__main__":
    multiprocessing.freeze_support()
    if sys.argv[1:2] == ["-c"] and len(sys.argv) > 2:
        sys.exit(run_code(sys.argv[2], sys.argv[3:]))
    if sys.argv[1:2] == ["--decode-check"] and len(sys.argv) > 3:
        sys.exit(decode_check(sys.argv[2], sys.argv[3:]))
    from app.cli.main import main

    sys.exit(main())
