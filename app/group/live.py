"""The live worklist: LISTEN to the group's changes (a trigger NOTIFYs ``telerad_worklist`` on every
statement that changes the shared worklist) and call back, coalesced, so every reader's list follows the
others' claims without polling. Reconnects with backoff after a lost connection (and calls back then: what
changed meanwhile was not notified)."""

from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)
CHANNEL = "telerad_worklist"


def watch(url: str, changed: Callable[[], None], stop: threading.Event, *, settle: float = 0.05,
          max_backoff: float = 5.0) -> None:
    """Block until ``stop``: ``changed()`` once per burst of notifications (bursts within ``settle`` seconds
    coalesce). Run it in a thread (:func:`start`)."""
    import psycopg

    delay = 0.2
    while not stop.is_set():
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                delay = 0.2
                while not stop.is_set():
                    got = list(conn.notifies(timeout=0.5, stop_after=1))
                    if got:
                        list(conn.notifies(timeout=settle))  # the rest of the burst
                        _call(changed)
        except psycopg.OperationalError as exc:
            log.info("group worklist notifications lost (%s); reconnecting", exc)
            if stop.wait(delay):
                return
            delay = min(delay * 2, max_backoff)
            _call(changed)  # changes made while disconnected were not notified


def _call(changed: Callable[[], None]) -> None:
    try:
        changed()
    except Exception:  # noqa: BLE001 - a failing listener must not stop the notifications
        log.exception("group worklist listener failed")


def start(url: str, changed: Callable[[], None]) -> tuple[threading.Thread, threading.Event]:
    """:func:`watch` in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(url, changed, stop), name="group-live", daemon=True)
    thread.start()
    return thread, stop
