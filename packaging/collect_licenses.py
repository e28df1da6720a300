"""Gather the third-party license notices shipped in the bundle's ``licenses/`` folder.

Every distribution in the run-time dependency closure of ``telerad`` (markers evaluated,
no extras) contributes the license files of its installed ``.dist-info`` (``licenses/``,
``LICENSE*``, ``COPYING*``, ``NOTICE*``, ``AUTHORS*``). Distributions that ship none (the
Qt for Python wheels) get their metadata's license expression plus the full license texts
it names, from ``packaging/licenses/`` (copied from Debian's ``/usr/share/common-licenses``). CPython's license and the
PyInstaller bootloader notice are added. ``THIRD-PARTY-NOTICES.txt`` is the index.

Usage: python packaging/collect_licenses.py OUT_DIR
"""

from __future__ import annotations

import re
import shutil
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LICENSE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|AUTHORS|COPYRIGHT)", re.IGNORECASE)
TEXTS = Path(__file__).resolve().parent / "licenses"  # FSF/Apache/MPL texts (from Debian's common-licenses)
SPDX_TEXTS = {"LGPL-3.0": "LGPL-3", "GPL-2.0": "GPL-2", "GPL-3.0": "GPL-3", "LGPL-2.1": "LGPL-2.1",
              "Apache-2.0": "Apache-2.0", "MPL-2.0": "MPL-2.0"}
QT_NOTE = """Qt for Python (PySide6, shiboken6) and the Qt 6 libraries are used under the GNU Lesser
General Public License v3 (LGPL-3.0-only). They are dynamically linked shared libraries in
_internal/PySide6/ and _internal/shiboken6/ of this bundle and may be replaced by the user
with a compatible build. Source: https://download.qt.io/official_releases/QtForPython/ and
https://code.qt.io/. Full texts: LGPL-3 and GPL-3 in this folder.
"""
ICU_NOTE = """ICU (International Components for Unicode) 73, shipped inside the Qt for Python wheel as
_internal/PySide6/Qt/lib/libicuuc, libicui18n and libicudata. libicudata was rebuilt for this bundle with
ICU's own tools (icupkg, genccode) holding a subset of the unmodified ICU data: packaging/icu_trim.py.

Copyright (c) 1991-2023 Unicode, Inc. All rights reserved. Distributed under the Unicode/ICU license:

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR
THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""
PYINSTALLER_NOTE = """The executable's bootloader comes from PyInstaller (https://pyinstaller.org), licensed under
the GPL-2.0-or-later with a special exception permitting its use in bundles of any license.
"""


def closure(root: str = "telerad") -> list[metadata.Distribution]:
    """The installed distributions ``root`` needs at run time (sorted by name, root excluded)."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [root]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    seen.pop(canonicalize_name(root), None)
    return sorted(seen.values(), key=lambda d: canonicalize_name(d.metadata["Name"]))


def license_files(dist: metadata.Distribution) -> list[Path]:
    """License-like files recorded in the distribution's dist-info."""
    found = []
    for entry in dist.files or []:
        parts = entry.parts
        if not parts or not parts[0].endswith(".dist-info"):
            continue
        if "licenses" in parts[1:-1] or LICENSE_FILE.match(parts[-1]):
            path = Path(str(dist.locate_file(entry)))
            if path.is_file():
                found.append(path)
    return found


def license_expression(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    expr = meta.get("License-Expression") or ""
    if not expr and meta.get("License") and len(meta["License"]) < 120:
        expr = meta["License"]
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return expr or "; ".join(classifiers) or "see files"


def top_level_names(dist: metadata.Distribution) -> set[str]:
    """Import names a distribution installs (``numpy``, ``numpy.libs``, ``_cffi_backend``...)."""
    names = set()
    for entry in dist.files or []:
        first = entry.parts[0] if entry.parts else ""
        if first and not first.endswith((".dist-info", ".data")) and first not in ("..", "__pycache__"):
            names.add(first.split(".cpython-")[0].split(".abi3")[0].removesuffix(".py").removesuffix(".so"))
    return names


def collect(out: Path, bundled: set[str] | None = None) -> list[str]:
    """Write the notices into ``out``; return the index lines.

    ``bundled``: top-level names present in the bundle; distributions with none are left out.
    """
    out.mkdir(parents=True, exist_ok=True)
    index, needed_texts = [], set()
    for dist in closure():
        if bundled is not None and not top_level_names(dist) & bundled:
            continue
        name, version = dist.metadata["Name"], dist.version
        folder = out / f"{canonicalize_name(name)}-{version}"
        files = license_files(dist)
        expr = license_expression(dist)
        folder.mkdir(exist_ok=True)
        for path in files:
            target = folder / path.name
            if target.exists():  # same file name in nested license folders
                target = folder / f"{path.parent.name}-{path.name}"
            shutil.copyfile(path, target)
        if not files:
            (folder / "LICENSE-METADATA.txt").write_text(f"{name} {version}\nLicense: {expr}\n"
                                                         f"Home: {dist.metadata.get('Home-page') or ''}\n")
            needed_texts.update(k for k in SPDX_TEXTS if k in expr)
        if canonicalize_name(name) in ("pyside6-essentials", "shiboken6"):
            (folder / "QT-LGPL-NOTE.txt").write_text(QT_NOTE)
            needed_texts.update(("LGPL-3.0", "GPL-3.0"))
        index.append(f"{name} {version}: {expr} ({len(files) or 'metadata'} file(s) in {folder.name}/)")
    _extras(out, needed_texts, index)
    (out / "THIRD-PARTY-NOTICES.txt").write_text(
        "Telerad Workstation bundles the following third-party software.\n\n" + "\n".join(index) + "\n")
    return index


def _extras(out: Path, needed_texts: set[str], index: list[str]) -> None:
    for spdx in sorted(needed_texts):
        source = TEXTS / SPDX_TEXTS[spdx]
        if not source.is_file():
            raise SystemExit(f"missing license text {source}")
        shutil.copyfile(source, out / SPDX_TEXTS[spdx])
    python_license = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    if python_license.is_file():
        shutil.copyfile(python_license, out / "Python-LICENSE.txt")
        index.append(f"Python {sys.version.split()[0]}: PSF-2.0 (Python-LICENSE.txt)")
    (out / "ICU.txt").write_text(ICU_NOTE)
    index.append("ICU 73 (in the Qt libraries; data trimmed by packaging/icu_trim.py): Unicode/ICU license (ICU.txt)")
    (out / "PyInstaller-bootloader.txt").write_text(PYINSTALLER_NOTE)
    index.append("PyInstaller bootloader: GPL-2.0-or-later WITH Bootloader-exception (PyInstaller-bootloader.txt)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    lines = collect(Path(sys.argv[1]))
    print(f"{len(lines)} notices in {sys.argv[1]}")
