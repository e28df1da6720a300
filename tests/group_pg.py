"""A private PostgreSQL server for the group-reading tests (session-scoped fixture ``pg_server``).

initdb into a temporary folder, a free port on 127.0.0.1, the unix socket in that folder; stopped and
removed at the end of the session (and killed if the thread that started it dies: start and restart it
from the test's own thread). initdb refuses to run as root: as root the server runs as ``nobody``
(the folder is given to it), as a normal user it runs as that user. PostgreSQL missing is a failure.
"""

from __future__ import annotations

import ctypes
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest

SERVER_USER = "nobody"  # who runs initdb/postgres when the tests run as root


def pg_bindir() -> Path:
    """The newest PostgreSQL server binaries (Debian: /usr/lib/postgresql/N/bin); a failure if none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        on_path = shutil.which("postgres")
        if on_path is None:
            pytest.fail("PostgreSQL server not installed (Debian package postgresql: make system-deps)")
        return Path(on_path).parent
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class PgServer:
    """One throw-away cluster; ``url(db)`` gives a libpq URL, ``createdb`` a fresh database."""

    def __init__(self, root: Path) -> None:
        self.root, self.bindir, self.port = root, pg_bindir(), free_port()
        self.data, self.sockets = root / "data", root / "sock"
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self._ids: dict[str, Any] = {}
        if os.geteuid() == 0:
            import pwd

            entry = pwd.getpwnam(SERVER_USER)
            self._ids = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
            os.chown(root, entry.pw_uid, entry.pw_gid)
        self.sockets.mkdir()
        if self._ids:
            os.chown(self.sockets, self._ids["user"], self._ids["group"])
        self._run([str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "telerad",
                   "--no-locale", "-E", "UTF8", "--no-sync"])

    def _run(self, argv: list[str]) -> None:
        done = subprocess.run(argv, capture_output=True, text=True, **self._ids)
        if done.returncode != 0:
            pytest.fail(f"{argv[0]} failed: {done.stderr.strip()[-2000:]}")

    def start(self) -> None:
        log = open(self.root / "server.log", "ab")
        self.proc = subprocess.Popen(
            [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port), "-h", "127.0.0.1",
             "-k", str(self.sockets), "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "max_connections=200",
             "-c", "full_page_writes=off", "-c", "shared_buffers=32MB", "-c", "log_min_messages=warning"],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent, **self._ids)
        log.close()
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if self.proc is not None and self.proc.poll() is not None or time.monotonic() > deadline:
                    tail = (self.root / "server.log").read_text(errors="replace")[-2000:]
                    pytest.fail(f"PostgreSQL did not start: {tail}")
                time.sleep(0.1)

    def stop(self, how: int = signal.SIGINT) -> None:
        """SIGINT: fast shutdown (sessions are cut), SIGQUIT: immediate."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(how)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, dbname: str) -> str:
        return f"postgresql://telerad@127.0.0.1:{self.port}/{dbname}"

    def createdb(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    root = Path(tempfile.mkdtemp(prefix="telerad-pg-"))
    server = None
    try:
        server = PgServer(root)
        server.start()
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def group_url(pg_server: PgServer, request: pytest.FixtureRequest) -> str:
    """A fresh, empty group database for one test."""
    import re

    return pg_server.createdb("g_" + re.sub(r"\W", "_", request.node.name)[:50].lower())
