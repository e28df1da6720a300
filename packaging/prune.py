"""Trim a PyInstaller Analysis: drop Qt plugins and translations the workstation never uses,
the desktop-platform libraries the distribution provides (PLATFORM_LIB), then the shared libraries
that only those files needed (DT_NEEDED graph, via readelf).

Kept Qt platforms: xcb (the VTK views need X11; on Wayland the app runs through XWayland),
offscreen and minimal (headless tools). Dropped: the GTK3 platform theme (it alone pulls in
GTK, cairo, pango, gdk-pixbuf...), Wayland, EGLFS/KMS, VNC, linuxfb, evdev input, Qt's TLS
and network-information backends (networking is pynetdicom), the WebP/TIFF/ICNS/TGA/WBMP
image-format plugins, and Qt's own translations.
A library is removed only when the dropped files were its sole users: libraries nothing
links to (loaded with ctypes/dlopen) are always kept.
"""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from pathlib import PurePosixPath
from typing import Iterable

QT = "PySide6/Qt/"
DROP_PLUGIN_PREFIXES = (
    "platformthemes/", "wayland-", "egldeviceintegrations/", "generic/", "networkinformation/", "tls/",
    "platforms/libqeglfs", "platforms/libqlinuxfb", "platforms/libqvnc", "platforms/libqvkkhrdisplay",
    "platforms/libqwayland", "platforms/libqminimalegl",
    # image formats the app never reads (its icons are PNG/SVG; PNG is built into QtGui)
    "imageformats/libqwebp", "imageformats/libqtiff", "imageformats/libqicns", "imageformats/libqtga",
    "imageformats/libqwbmp",
)
NEEDED = re.compile(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]")
#: Desktop-platform libraries PyInstaller copies from the build machine, left to the distribution instead
#: (build.sh turns them into .deb Depends): the X11/xcb/xkbcommon stack, fontconfig and FreeType (they
#: must match the system's font configuration), D-Bus with what it links (systemd, gcrypt, lz4, cap),
#: GLib. The same choice as AppImage's excludelist; every X11 desktop has them.
PLATFORM_LIB = re.compile(r"^lib(X11|X11-xcb|Xau|Xdmcp|xcb(-[a-z0-9-]+)?|xkbcommon(-x11)?|fontconfig|freetype|"
                          r"dbus-1|systemd|gcrypt|gpg-error|lz4|cap|glib-2\.0|gthread-2\.0|pcre2-8|bsd|md)\.so(\.\d+)*$")


def is_dropped(dest: str) -> bool:
    """True for Qt translations, unused Qt plugins and platform libraries (bundle-relative POSIX path)."""
    dest = dest.replace("\\", "/")
    if "/" not in dest and PLATFORM_LIB.match(dest):
        return True
    if dest.startswith(QT + "translations/"):
        return True
    return dest.startswith(QT + "plugins/") and dest[len(QT + "plugins/"):].startswith(DROP_PLUGIN_PREFIXES)


def needed(path: str) -> list[str]:
    """DT_NEEDED sonames of an ELF file (empty for anything else)."""
    out = subprocess.run(["readelf", "-d", "-W", path], capture_output=True, text=True).stdout
    return NEEDED.findall(out)


def _reach(roots: Iterable[str], graph: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph.get(name, ()))
    return seen


def prune(binaries: list[tuple], datas: list[tuple]) -> tuple[list[tuple], list[tuple], list[str]]:
    """(binaries, datas, removed dest names) without the dropped plugins and their private libraries."""
    by_base: dict[str, list[str]] = defaultdict(list)
    for dest, _src, _kind in binaries:
        by_base[PurePosixPath(dest.replace("\\", "/")).name].append(dest)
    graph = {dest: [d for soname in needed(src) for d in by_base.get(soname, ())]
             for dest, src, kind in binaries if kind != "SYMLINK"}
    dropped = {dest for dest, *_ in binaries if is_dropped(dest)}
    everything = _reach(graph, graph)  # every file, with what it links to
    linked_to = {d for deps in graph.values() for d in deps}
    kept = _reach([d for d in graph if d not in dropped and d not in linked_to], graph)
    only_for_dropped = (_reach(dropped, graph) - kept) & everything
    removed = dropped | only_for_dropped
    keep_binaries = [e for e in binaries if e[0] not in removed and not (e[2] == "SYMLINK" and _target_removed(e, removed))]
    keep_datas = [e for e in datas if not is_dropped(e[0])]
    gone = sorted(removed) + sorted(e[0] for e in datas if is_dropped(e[0]))
    return keep_binaries, keep_datas, gone


def _target_removed(entry: tuple, removed: set[str]) -> bool:
    """A SYMLINK entry's (dest, target, kind): is the file it points to removed?"""
    dest, target, _ = entry
    resolved = str(PurePosixPath(dest.replace("\\", "/")).parent / target) if target else ""
    return any(resolved.endswith(r) for r in removed)
