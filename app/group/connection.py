"""The group database connection: one psycopg connection per :class:`GroupDB`, each unit of work in its own
transaction, retried on a lost connection (server restart, network cut) with exponential backoff.

A unit of work must be safe to run again: a commit whose acknowledgement was lost is indistinguishable from
a rollback, so claims carry a token (``queue.next_case``) and report states a unique key (``reports``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)
T = TypeVar("T")


class GroupError(RuntimeError):
    """A group operation refused (a message meant for the user)."""


class GroupUnavailable(GroupError):
    """The group database could not be reached within the retry window."""


def redact(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


class GroupDB:
    """A PostgreSQL group database reached at ``url`` (libpq URL or key=value string); thread-safe."""

    def __init__(self, url: str, *, retry_for: float = 30.0, connect_timeout: float = 5.0,
                 application_name: str = "telerad", migrate: bool = True) -> None:
        """``retry_for``: seconds a unit of work keeps retrying a lost connection before
        :class:`GroupUnavailable`; ``migrate``: bring the schema up to date on the first connection."""
        self.url, self.retry_for, self.connect_timeout = url, retry_for, connect_timeout
        self.application_name, self._migrate = application_name, migrate
        self._conn: Optional["psycopg.Connection[Any]"] = None
        self._lock = threading.RLock()
        self._connected = False
        self.reconnects = 0  # connections made after the first one (tests, logs)

    def __enter__(self) -> "GroupDB":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass

    def _connection(self) -> "psycopg.Connection[Any]":
        import psycopg

        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=max(1, int(self.connect_timeout)),
                               application_name=self.application_name)
        if self._connected:
            self.reconnects += 1
            log.info("group database: reconnected (%d)", self.reconnects)
        elif self._migrate:
            from app.group.schema import migrate

            try:
                migrate(conn)
            except BaseException:
                conn.close()
                raise
        self._conn, self._connected = conn, True
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - the connection is already broken
                pass

    def run(self, work: Callable[["psycopg.Connection[Any]"], T], *, retry_for: Optional[float] = None,
            transaction: bool = True) -> T:
        """``work(conn)`` in one transaction; rerun after a lost connection or a serialization failure until
        ``retry_for`` seconds (default: the database's) have passed, then :class:`GroupUnavailable`.
        ``transaction=False``: ``work`` runs one statement, atomic by itself (no BEGIN/COMMIT round trips)."""
        import psycopg

        limit = self.retry_for if retry_for is None else retry_for
        deadline, delay = time.monotonic() + limit, 0.05
        while True:
            with self._lock:
                try:
                    conn = self._connection()
                    if not transaction:
                        return work(conn)
                    with conn.transaction():
                        return work(conn)
                except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                    broken = self._conn is None or self._conn.closed or self._conn.broken
                    if broken:
                        self._drop()
                    if time.monotonic() + delay > deadline:
                        raise GroupUnavailable(f"group database {redact(self.url)} unreachable: "
                                               f"{str(exc).strip().splitlines()[0] if str(exc) else exc!r}") from exc
                    log.debug("group database: %s; retrying in %.2f s", type(exc).__name__, delay)
            time.sleep(delay * (0.5 + random.random()))  # jitter: 50 readers do not reconnect in lockstep
            delay = min(delay * 2, 2.0)
