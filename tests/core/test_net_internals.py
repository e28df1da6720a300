"""The pynetdicom internals app.network relies on exist, and only the fenced package touches them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.network import pynetdicom_internals as fence
from app.network.pynetdicom_internals.relied_on import RELIED_ON, Internal, missing

NETWORK = Path(fence.__file__).resolve().parents[1]
PRIVATE_MODULES = ("pynetdicom._", "pynetdicom.dul", "pynetdicom.dimse", "pynetdicom.transport",
                   "pynetdicom.association", "pynetdicom.pdu_primitives", "pynetdicom.timer")
# private names among the relied-on internals, and the public-looking ones only pynetdicom's machinery uses
INTERNAL_NAMES = {name for name in (item.where.rsplit(".", 1)[-1] for item in RELIED_ON)
                  if name.startswith("_") and not name.startswith("__")} | {
    "_config", "_globals", "_servers", "_handlers", "dul", "dimse", "to_provider_queue", "send_pdu", "send_msg",
    "set_socket"}


@pytest.mark.parametrize("item", RELIED_ON, ids=lambda item: item.where)
def test_relied_on_internal_exists_with_its_shape(item: Internal) -> None:
    assert item.why
    assert missing((item,)) == []


def test_checker_names_what_is_missing_or_changed() -> None:
    gone = Internal("pynetdicom.dul:DULServiceProvider._no_such_timer", "instance", "test")
    moved = Internal("pynetdicom.nowhere:Thing", "class", "test")
    renamed = Internal("pynetdicom.transport:AssociationSocket.recv", "callable", "test", ("n_bytes",))
    not_prop = Internal("pynetdicom.transport:AssociationSocket.recv", "property", "test")
    problems = missing((gone, moved, renamed, not_prop))
    assert len(problems) == 4
    for item, text in zip((gone, moved, renamed, not_prop), problems):
        assert text.startswith(item.where)
    assert "nr_bytes" in problems[2]


def test_install_is_idempotent_and_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    from pynetdicom import _config

    fence.install()
    fence.install()
    assert _config.LOG_HANDLER_LEVEL == "none" and _config.ENFORCE_UID_CONFORMANCE is False
    from app.network.pynetdicom_internals import relied_on

    bogus = Internal("pynetdicom.ae:ApplicationEntity._gone", "callable", "test")
    monkeypatch.setattr(relied_on, "RELIED_ON", (*RELIED_ON, bogus))
    monkeypatch.setattr(fence, "_installed", False)
    with pytest.raises(fence.PynetdicomMismatch, match="ApplicationEntity._gone"):
        fence.install()


def _offences(path: Path) -> list[str]:
    """Imports of pynetdicom's private modules and uses of relied-on internal names in one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PRIVATE_MODULES):
            found.append(f"{path.name}:{node.lineno} imports {node.module}")
        elif isinstance(node, ast.ImportFrom) and node.module == "pynetdicom":
            found += [f"{path.name}:{node.lineno} imports {a.name}" for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Import):
            found += [f"{path.name}:{node.lineno} imports {a.name}" for a in node.names
                      if a.name.startswith(PRIVATE_MODULES)]
        elif isinstance(node, ast.Attribute) and node.attr in INTERNAL_NAMES and not (
                isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            found.append(f"{path.name}:{node.lineno} uses .{node.attr}")
    return found


def test_only_the_fenced_package_touches_internals() -> None:
    outside = [p for p in NETWORK.rglob("*.py") if fence.__name__.rsplit(".", 1)[-1] not in p.parts]
    assert len(outside) > 15
    assert [o for p in outside for o in _offences(p)] == []
    inside = [o for p in Path(fence.__file__).parent.glob("*.py") for o in _offences(p)]
    assert len(inside) > 5  # the scan does see them where they are allowed
