"""pytest plugin: make PySide6 and VTK unimportable, so core tests prove the core runs without them."""

from __future__ import annotations

import importlib.abc
import sys

BLOCKED = ("PySide6", "shiboken6", "vtk", "vtkmodules")


class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked in the core test step")
        return None


def pytest_configure(config) -> None:  # type: ignore[no-untyped-def]
    for name in list(sys.modules):
        if name.split(".")[0] in BLOCKED:
            raise RuntimeError(f"{name} was imported before the core test step started")
    sys.meta_path.insert(0, _Blocker())
