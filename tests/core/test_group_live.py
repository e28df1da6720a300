"""The group schema's migrations and the live worklist (LISTEN/NOTIFY) on a real PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest

from app.config import resolve_paths
from app.group import SCHEMA_VERSION, GroupDB, GroupSchemaTooNew, add_reader, next_case, publish, set_facility
from app.group.queue import Published
from tests.group_pg import group_url, pg_server  # noqa: F401  (fixtures)


def test_the_schema_is_migrated_once_and_a_newer_one_refused(group_url: str) -> None:  # noqa: F811
    for _ in range(2):
        with GroupDB(group_url) as db:
            db.run(lambda c: c.execute("SELECT 1").fetchone())
    with psycopg.connect(group_url) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM group_schema ORDER BY version").fetchall()]
        assert versions == list(range(1, SCHEMA_VERSION + 1))
        conn.execute("INSERT INTO group_schema (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(GroupSchemaTooNew, match="newer than this application"):
        GroupDB(group_url).run(lambda c: None)


def test_a_reader_hears_another_reader_s_claim(tmp_path: Path, group_url: str) -> None:  # noqa: F811
    from app.workstation import Workstation
    from app.workstation import group

    heard = threading.Event()
    with GroupDB(group_url) as db:
        set_facility(db, "A", "TX")
        add_reader(db, "bob", facilities=["A"], licenses=["TX"])
        with Workstation(resolve_paths(str(tmp_path / "home")), "ann") as ws:
            ws.group_url = group_url
            group.watch_worklist(ws, heard.set)
            threading.Event().wait(1.0)  # the listener is connected
            heard.clear()
            publish(db, [Published("1.2.3", "A", "STAT", datetime.now(timezone.utc))], "bob")
            assert heard.wait(10), "no notification of the publish"
            heard.clear()
            assert next_case(db, "bob").claim is not None
            assert heard.wait(10), "no notification of the claim"
            watchers = list(group.session(ws).watchers)
        assert watchers and not any(t.is_alive() for t, _ in watchers)  # stopped with the workstation


def test_tat_dashboard_counts_waiting_and_read_studies(tmp_path: Path, group_url: str) -> None:  # noqa: F811
    import json
    import os
    import subprocess
    import sys
    from datetime import timedelta

    from app.group import complete

    now = datetime.now(timezone.utc)
    with GroupDB(group_url) as db:
        set_facility(db, "A", "TX")
        add_reader(db, "ann", facilities=["A"], licenses=["TX"], cap=10)
        publish(db, [Published("late", "A", "STAT", now - timedelta(hours=2)),
                     Published("ontime", "A", "routine", now + timedelta(hours=9))], "ann")
        for _ in range(2):
            complete(db, "ann", next_case(db, "ann").claim.study_uid)
        publish(db, [Published("breached", "A", "STAT", now - timedelta(minutes=5)),
                     Published("near", "A", "routine", now + timedelta(minutes=10)),
                     Published("held", "A", "routine", now + timedelta(hours=5)),
                     Published("queued", "A", "routine", now + timedelta(hours=8))], "ann")
        assert next_case(db, "ann").claim.study_uid == "breached"
    env = {k: v for k, v in os.environ.items() if k not in ("TELERAD_HOME", "TELERAD_GROUP")}
    proc = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(tmp_path), "--group", group_url, "tat",
                           "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    counts = ("facility", "priority", "queued", "reading", "near_breach", "breached", "met", "late")
    rows = {r["priority"]: {k: r[k] for k in counts} for r in json.loads(proc.stdout)["rows"]}
    assert rows["STAT"] == {"facility": "A", "priority": "STAT", "queued": 0, "reading": 1, "near_breach": 0,
                            "breached": 1, "met": 0, "late": 1}
    assert rows["routine"] == {"facility": "A", "priority": "routine", "queued": 3, "reading": 0, "near_breach": 1,
                               "breached": 0, "met": 1, "late": 0}
    lone = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(tmp_path / "lone"), "tat", "--json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert lone.returncode == 0 and json.loads(lone.stdout)["rows"] == [], lone.stderr
