"""The core test step really runs without Qt and VTK."""

import importlib

import pytest


@pytest.mark.parametrize("name", ["PySide6", "vtkmodules", "vtk"])
def test_gui_packages_are_not_importable(request: pytest.FixtureRequest, name: str) -> None:
    assert request.config.pluginmanager.has_plugin("tests.block_gui"), (
        "core tests must run with `-p no:pytest-qt -p tests.block_gui` (use `make test-core`)"
    )
    with pytest.raises(ImportError):
        importlib.import_module(name)
