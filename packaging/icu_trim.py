"""Replace the bundle's ICU data library (Qt's libicudata, 31 MB) with one holding only what Qt Core uses.

Qt Core is the only ICU user in the bundle (``nm -D --undefined-only``: case mapping, ucal time-zone
names, ucol collation, ucnv codecs). Kept: the root and English locale data (the UI is English),
collation root + UCA data, time-zone data, normalisation, properties and every supplemental table.
Dropped: the other locales' .res files (they fall back to root/English: e.g. Swedish file names sort
like English ones, German time-zone names read in English), the legacy codec tables (Qt's own UTF-8/16/
32 and Latin-1 codecs stay; the app decodes DICOM text with pydicom), break-iterator dictionaries,
and the unit/currency/language/region/transliteration/spell-out trees, which Qt never reaches.
The official ICU tools do the work: ``icupkg`` (remove items) and ``genccode`` (data -> assembly),
assembled and linked by gcc (Debian: icu-devtools, gcc).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

KEEP_LOCALES = ("en",)
LOCALE_TREES = ("", "coll", "zone")  # trees whose per-locale files are trimmed to KEEP_LOCALES
DROPPED_TREES = ("brkitr", "curr", "lang", "rbnf", "region", "translit", "unit")
NOT_LOCALES = ("pool.res", "res_index.res", "root.res")
LOCALE_FILE = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]*)*\.res$")
DATA_LIB = re.compile(r"^libicudata\.so\.(\d+)$")


def keep(item: str) -> bool:
    """Should the ICU data item (``coll/de.res``, ``ibm-37_P100-1995.cnv``...) stay in the package?"""
    tree, _, name = item.rpartition("/")
    if tree in DROPPED_TREES or name.endswith(".cnv"):
        return False
    if tree in LOCALE_TREES and LOCALE_FILE.match(name) and name not in NOT_LOCALES:
        language = name[:-4].split("_")[0]
        return language in KEEP_LOCALES
    return True


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(str(args[0])).name} failed: {(done.stderr or done.stdout).strip()[-500:]}")
    return done.stdout


def extract_data(library: Path, symbol: str, out: Path) -> None:
    """Copy the ICU common data blob (the object ``symbol``) out of ``library``."""
    syms = _run("readelf", "-W", "--dyn-syms", library)
    found = re.search(rf"\s([0-9a-f]+)\s+(\d+|0x[0-9a-f]+)\s+OBJECT\s+GLOBAL\s+\S+\s+\S+\s+{symbol}$", syms, re.M)
    if not found:
        raise RuntimeError(f"{library.name}: no {symbol} symbol")
    address, size = int(found[1], 16), int(found[2], 0)
    for line in _run("readelf", "-W", "-l", library).splitlines():
        parts = line.split()
        if parts[:1] == ["LOAD"]:
            offset, vaddr, filesz = int(parts[1], 16), int(parts[2], 16), int(parts[4], 16)
            if vaddr <= address and address + size <= vaddr + filesz:
                with library.open("rb") as fh:
                    fh.seek(offset + address - vaddr)
                    out.write_bytes(fh.read(size))
                return
    raise RuntimeError(f"{library.name}: {symbol} is not in a loaded segment")


def trim_library(library: Path) -> tuple[int, int]:
    """Rewrite ``library`` (libicudata.so.NN) in place; return (bytes before, bytes after)."""
    version = DATA_LIB.match(library.name)
    if not version:
        raise ValueError(f"not an ICU data library: {library}")
    major = version[1]
    package, symbol = f"icudt{major}l", f"icudt{major}_dat"
    before = library.stat().st_size
    with tempfile.TemporaryDirectory(prefix="icu-trim-") as tmp:
        work = Path(tmp)
        full, trimmed = work / "full" / f"{package}.dat", work / f"{package}.dat"  # icupkg names items after the file
        full.parent.mkdir()
        extract_data(library, symbol, full)
        items = _run("icupkg", "-l", full).split()
        removed = [item for item in items if not keep(item)]
        (work / "remove.txt").write_text("\n".join(removed) + "\n")
        _run("icupkg", "-r", work / "remove.txt", full, trimmed)
        _run("genccode", "-q", "-a", "gcc", "-e", f"icudt{major}", "-d", work, trimmed)
        built = work / library.name
        _run("gcc", "-shared", "-nostdlib", f"-Wl,-soname,{library.name}", "-Wl,-z,noexecstack", "-o", built,
             work / f"{package}_dat.S")
        library.unlink()  # the bundle may hard-link it (AppDir, .deb root): never write through a link
        library.write_bytes(built.read_bytes())
        library.chmod(0o755)
    return before, library.stat().st_size


def trim_bundle(internal: Path) -> tuple[int, int]:
    """Trim every libicudata in the bundle's ``_internal``; return (bytes before, bytes after)."""
    libraries = [p for p in internal.rglob("libicudata.so.*") if DATA_LIB.match(p.name) and not p.is_symlink()]
    if not libraries:
        raise RuntimeError(f"no libicudata.so.NN under {internal}")
    sizes = [trim_library(lib) for lib in libraries]
    return sum(b for b, _ in sizes), sum(a for _, a in sizes)
