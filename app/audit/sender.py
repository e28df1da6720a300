"""Background delivery of the spool to the audit repository (one daemon thread per open audit log).

Woken by every new record (and every ``poll_s`` for rows other processes spooled); on failure the rows go
back to the spool and the thread waits ``retry_min_s``, doubling up to ``retry_max_s``. Within a run a
row is never sent twice (a set of the seqs written, kept even if marking them sent failed).
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import threading

from app.audit import spool
from app.audit.log import AuditLog, AuditRecord
from app.audit.message import to_xml
from app.audit.repository import AuditRepository
from app.audit.syslog import SyslogConnection, frame

log = logging.getLogger(__name__)


class AuditSender:
    """Sends spooled events over syslog/TLS; :meth:`start`, :meth:`notify`, :meth:`stop`."""

    def __init__(self, audit: AuditLog, repository: AuditRepository, *, poll_s: float = 5.0,
                 batch: int = 50) -> None:
        self.audit, self.repository = audit, repository
        self.poll_s, self.batch = poll_s, batch
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.last_error: str | None = None
        self._connection = SyslogConnection(repository.target())
        self._source = repository.source()
        self._sent: set[int] = set()
        self._delay = 0.0
        self._wake, self._stop = threading.Event(), threading.Event()
        self._flushing = threading.Lock()  # the thread and a caller's flush() never send at the same time
        self._thread: threading.Thread | None = None

    def start(self) -> "AuditSender":
        self._thread = threading.Thread(target=self._run, name="audit-export", daemon=True)
        self._thread.start()
        return self

    def notify(self, _record: AuditRecord | None = None) -> None:
        """A new record was spooled: send soon (unless waiting out a failure)."""
        self._wake.set()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop the thread after its last delivery attempt (waiting at most ``timeout``); rows not
        delivered stay spooled for the next run."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._connection.close()

    def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # never let the thread die: the spool keeps the rows
                if self._stop.is_set():  # the log may be closing under us: the rows stay spooled
                    return
                log.exception("audit export failed")
            if self._stop.is_set():
                return
            if self._delay:  # waiting out a failure: new records do not shorten the wait, stop does
                self._stop.wait(self._delay)
            else:
                self._wake.wait(self.poll_s)

    def flush(self) -> int:
        """Send every unsent row now; the number sent (0 after a failure, which sets the backoff)."""
        with self._flushing:
            return self._flush()

    def _flush(self) -> int:
        total = 0
        while True:
            pending = spool.claim(self.audit, self.owner, limit=self.batch)
            again = [p.record.seq for p in pending if p.record.seq in self._sent]
            spool.mark_sent(self.audit, again)  # written earlier in this run: only the mark was missing
            todo = [p for p in pending if p.record.seq not in self._sent]
            if not todo:
                return total
            seqs = [p.record.seq for p in todo]
            try:
                frames = [frame(to_xml(p.record, self._source, patient_id=p.patient_id), hostname=p.record.host)
                          for p in todo]
                self._connection.send(frames)
            except (OSError, ssl.SSLError, ValueError) as exc:
                self._failed(seqs, exc)
                return total
            self._sent.update(seqs)
            spool.mark_sent(self.audit, seqs)
            self._delay, self.last_error = 0.0, None
            total += len(seqs)

    def _failed(self, seqs: list[int], exc: BaseException) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        spool.release(self.audit, seqs, self.last_error)
        low, high = self.repository.retry_min_s, self.repository.retry_max_s
        self._delay = min(high, max(low, self._delay * 2))
        log.warning("audit repository %s:%s unreachable (%s); %d event(s) kept, retry in %.1f s",
                    self.repository.host, self.repository.port, self.last_error, len(seqs), self._delay)

    close = stop  # the workstation closes its services by name
