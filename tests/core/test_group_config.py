"""Where the group database is: --group first, then the URL saved in the config folder (owner-only); a
connection test against a real PostgreSQL and against a port where none listens; the CLI uses the saved URL."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import resolve_paths
from app.group import SCHEMA_VERSION, GroupDB, GroupUnavailable
from app.settings import SettingsError
from app.workstation import Workstation
from app.workstation.group_config import GROUP_FILE, configured_url, probe, save, saved
from tests.core.test_group_cli import REPO, ok, telerad
from tests.group_pg import free_port, group_url, pg_server  # noqa: F401  (fixtures)


@pytest.fixture
def ws(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Workstation(resolve_paths(str(tmp_path / "home")), "ann") as workstation:
        yield workstation


def test_saved_url_is_used_unless_this_run_gives_one(ws: Workstation) -> None:
    assert saved(ws).url == "" and configured_url(ws) is None
    save(ws, "  postgresql://ann@db.example.org/telerad ")
    path = ws.paths.config_dir / GROUP_FILE
    assert json.loads(path.read_text()) == {"url": "postgresql://ann@db.example.org/telerad"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # a URL may hold a password
    assert configured_url(ws) == "postgresql://ann@db.example.org/telerad"
    ws.group_url = "postgresql://other/telerad"
    assert configured_url(ws) == "postgresql://other/telerad"
    ws.group_url = None
    save(ws, "")
    assert configured_url(ws) is None


def test_other_urls_and_broken_files_are_refused_with_the_file_named(ws: Workstation) -> None:
    with pytest.raises(ValueError, match="postgresql://"):
        save(ws, "mysql://db/telerad")
    ws.paths.config_dir.mkdir(parents=True, exist_ok=True)
    (ws.paths.config_dir / GROUP_FILE).write_text('{"url": 5}')
    with pytest.raises(SettingsError, match=GROUP_FILE):
        configured_url(ws)


def test_probe_describes_the_server_or_says_why_not(group_url: str) -> None:  # noqa: F811
    assert "no group schema yet" in probe(group_url)
    with GroupDB(group_url) as db:
        db.run(lambda c: c.execute("SELECT 1").fetchone())  # the first connection migrates
    assert probe(group_url).endswith(f"group schema {SCHEMA_VERSION}") and probe(group_url).startswith("PostgreSQL ")
    with pytest.raises(GroupUnavailable, match="cannot use the group database: .*"):
        probe(f"postgresql://ann@127.0.0.1:{free_port()}/telerad")


def test_the_cli_reads_the_saved_group(tmp_path: Path, group_url: str) -> None:  # noqa: F811
    home = tmp_path / "home"
    with Workstation(resolve_paths(str(home)), "ann") as workstation:
        save(workstation, group_url)
    ok(telerad(home, group_url, "readers", "add", "ann", "--facility", "A", "--license", "TX"))
    env = {k: v for k, v in os.environ.items() if k not in ("TELERAD_HOME", "TELERAD_GROUP")}
    listed = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(home), "readers", "list", "--json"],
                            capture_output=True, text=True, env=env, timeout=120, cwd=REPO)  # no --group
    assert listed.returncode == 0, listed.stderr
    assert [r["name"] for r in json.loads(listed.stdout)] == ["ann"]
