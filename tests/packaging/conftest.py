"""Packaging acceptance set-up: build the installers once per run, extract the .deb, give a private Xvfb."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: Installed in the venv, left out of the bundle on purpose (packaging/telerad.spec NOT_BUNDLED, README "Size").
NOT_BUNDLED = ("pylibjpeg-libjpeg", "pylibjpeg-openjpeg", "pyjpegls")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run packaging/build.sh into a temporary folder (about 70-130 s); the folder it wrote."""
    out = tmp_path_factory.mktemp("dist")
    log = out / "build.log"
    with log.open("w") as fh:
        proc = subprocess.run(["bash", str(REPO / "packaging" / "build.sh"), str(out)], cwd=REPO,
                              stdout=fh, stderr=subprocess.STDOUT, timeout=1200)
    if proc.returncode != 0:
        tail = [line for line in log.read_text().splitlines() if "WARNING" not in line][-30:]
        pytest.fail(f"packaging/build.sh failed ({proc.returncode}), log {log}:\n" + "\n".join(tail))
    return out


@pytest.fixture(scope="session")
def deb(built: Path) -> Path:
    debs = sorted(built.glob("telerad_*.deb"))
    assert len(debs) == 1, debs
    return debs[0]


@pytest.fixture(scope="session")
def installed(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .deb extracted into a temporary root (what `dpkg -i` would write, without the scripts)."""
    root = tmp_path_factory.mktemp("root")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


@pytest.fixture(scope="session")
def xdisplay() -> str:
    """A private Xvfb (as tests/gui does), killed when pytest exits."""
    from tests.xvfb import start_xvfb

    return start_xvfb()


def clean_env(display: str, home: Path) -> dict[str, str]:
    """A user's environment: no venv, no PYTHONPATH, a fresh HOME (cold per-user caches)."""
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    tmp = home / "tmp"
    tmp.mkdir(exist_ok=True)
    keep = {k: os.environ[k] for k in ("LANG", "LC_ALL") if k in os.environ}
    return {**keep, "PATH": "/usr/bin:/bin", "HOME": str(home), "DISPLAY": display, "TMPDIR": str(tmp),
            "XDG_RUNTIME_DIR": str(home)}


def bundled_plugins(syntax: str) -> list[str]:
    """The venv's decoder order for ``syntax`` less the plugins whose dependencies are not bundled."""
    import importlib

    from app.dicom.codecs import _PLUGIN_PATHS, plugin_order

    kept = []
    for label in plugin_order(syntax):
        deps = getattr(importlib.import_module(_PLUGIN_PATHS[label][0]), "DECODER_DEPENDENCIES", {}).get(syntax, ())
        if not any(re.split(r"[<>=!~ ]", dep)[0].lower() in NOT_BUNDLED for dep in deps):
            kept.append(label)
    return kept
