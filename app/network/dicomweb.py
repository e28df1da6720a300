"""DICOMweb client (QIDO-RS, WADO-RS, STOW-RS) over :mod:`app.network.webhttp`: the second transport of a node.

WADO-RS responses are parsed as a stream (multipart/related), one instance at a time, and each
instance goes through the same ``on_stored`` callback as DIMSE retrieves.
"""

from __future__ import annotations

import http.client
import logging
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence
from urllib.parse import urlsplit

from app.network import netaudit
from app.network.multipart import boundary_of, encode_related, iter_parts
from app.network.nodes import Node, NodeError, TlsSettings
from app.network.query import RETURN_KEYS, Level, Query, to_record
from app.network.received import ReceivedMeta, StoreCallback, StoreOutcome, part10_uids
from app.network.retrieve import RetrieveResult
from app.network.webhttp import HttpClient, HttpError, Response
from app.tasks import Cancelled, ProgressFn, check_cancel, report

if TYPE_CHECKING:
    from app.audit import AuditLog

LOG = logging.getLogger(__name__)
ACCEPT_DICOM = 'multipart/related; type="application/dicom"; transfer-syntax=*'


class DicomWebError(RuntimeError):
    """An HTTP error (``status``) or an unusable DICOMweb response (``status`` None)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class DicomWebClient:
    """One HTTP connection pool to a DICOMweb base URL (``.../dicom-web``)."""

    def __init__(self, base_url: str, tls: TlsSettings | None = None, timeout: float = 60.0) -> None:
        context = None  # https: the default trust (webhttp.default_context)
        if tls is not None and tls.enabled and tls.ca_file:
            from app.network.tls import client_context

            context = client_context(tls)
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).hostname or "?"
        self.timeout = timeout
        self._http = HttpClient(self.base_url, context=context, timeout=timeout)

    @classmethod
    def for_node(cls, node: Node) -> "DicomWebClient":
        if not node.dicomweb:
            raise NodeError(f"node {node.name} has no DICOMweb URL (nodes add ... --dicomweb URL)")
        return cls(node.dicomweb, node.tls)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "DicomWebClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- QIDO-RS -----------------------------------------------------------------------------
    def search(self, query: Query, level: Level = "study") -> list[dict[str, str]]:
        """QIDO-RS with the same filters and return keys as C-FIND."""
        from pydicom.dataset import Dataset

        ident = query.identifier(level)
        params: list[tuple[str, str]] = [("includefield", k) for k in RETURN_KEYS[level]]
        for elem in ident:
            if elem.value and elem.keyword not in ("QueryRetrieveLevel", "StudyInstanceUID", "SeriesInstanceUID"):
                params.append((elem.keyword, str(elem.value)))
        if level == "study":
            path = "/studies"
            if query.study_uid:
                params.append(("StudyInstanceUID", query.study_uid))
        elif level == "series":
            path = f"/studies/{query.study_uid}/series"
        else:
            path = f"/studies/{query.study_uid}/series/{query.series_uid}/instances"
        r = self._call("GET", path, params=params, headers={"Accept": "application/dicom+json"})
        if r.status == 204:
            return []
        return [to_record(Dataset.from_json(item)) for item in (r.json() or [])]

    # -- WADO-RS -----------------------------------------------------------------------------
    def iter_instances(self, path: str, cancel: threading.Event | None = None, *,
                       transfer_syntax: str = "*") -> Iterator[bytes]:
        """Part 10 bytes of every instance under ``path`` (``/studies/UID[/series/UID...]``), in
        ``transfer_syntax`` (a UID the server transcodes to, or ``*`` = as stored)."""
        accept = ACCEPT_DICOM.replace("transfer-syntax=*", f"transfer-syntax={transfer_syntax}")
        try:
            with self._http.stream(path, {"Accept": accept}) as (content_type, chunks):
                for part in iter_parts(chunks, boundary_of(content_type)):
                    check_cancel(cancel)
                    yield part
        except HttpError as exc:
            raise DicomWebError(str(exc), exc.status) from None
        except http.client.HTTPException as exc:  # a malformed or truncated response (not an OSError)
            raise DicomWebError(f"GET {path}: {type(exc).__name__}: {exc}") from None

    def retrieve_study(self, study_uid: str, on_stored: StoreCallback, *, series_uid: str | None = None,
                       have: set[str] | frozenset[str] = frozenset(), node_name: str | None = None,
                       audit: "AuditLog | None" = None, user: str | None = None,
                       cancel: threading.Event | None = None, progress: ProgressFn | None = None) -> RetrieveResult:
        """WADO-RS a study (or series); with ``have``, only the missing instances, one by one.

        Instances are stored on a background writer while the download goes on; this returns once
        all are durable (failures count in ``failed``: the result is then incomplete)."""
        from app.network.writer import BackgroundStore, tally

        count = None if have else self._count_later(study_uid, series_uid)
        paths, expected = self._plan(study_uid, series_uid, have) if have else ([self._base(study_uid, series_uid)], None)
        result = RetrieveResult(study_uid, "dicomweb", expected, expected if have else None)
        netaudit.begin_transfer(audit, node=node_name or self.host, study_uid=study_uid, method="WADO-RS", user=user)
        lock = threading.Lock()

        def record(meta: ReceivedMeta, outcome: StoreOutcome) -> None:
            with lock:
                tally(result.outcomes, result.received, meta, outcome)
                if result.expected is None and count is not None and count.done() and not count.exception():
                    result.expected = count.result()  # known a few instances in (queried alongside)
            report(progress, len(result.received), result.expected or 0, "instances")

        # download + multipart parse here, durable stores on the writer thread (see app.network.writer)
        writer = BackgroundStore(on_stored, record, name="telerad-wado-writer")
        try:
            try:
                for path in paths:
                    for data in self.iter_instances(path, cancel):
                        writer.submit(data, self._meta(data, node_name))
            finally:
                writer.close()
            if count is not None and result.expected is None:
                result.expected = self._count_result(count)
        except Cancelled as exc:
            result.cancelled = True
            exc.result = result  # type: ignore[attr-defined]
            raise
        except Exception as exc:
            exc.result = result  # type: ignore[attr-defined]  # what arrived before the error
            raise
        finally:
            from app.network.writer import stored_count

            stored = stored_count(result.outcomes)
            netaudit.transfer(audit, direction="retrieved", node=node_name or self.host, study_uid=study_uid,
                              count=stored, failed=result.outcomes["rejected"], user=user,
                              outcome=4 if result.cancelled else None,
                              extra={"method": "WADO-RS", "incomplete": result.incomplete})
        result.failed += writer.failed
        result.statuses.append(0)
        return result

    @staticmethod
    def _base(study_uid: str, series_uid: str | None) -> str:
        return f"/studies/{study_uid}" + (f"/series/{series_uid}" if series_uid else "")

    def study_count(self, study_uid: str) -> int | None:
        """NumberOfStudyRelatedInstances from QIDO-RS (None if the peer does not say)."""
        studies = self.search(Query(study_uid=study_uid), "study")
        count = studies[0].get("NumberOfStudyRelatedInstances", "") if studies else ""
        return int(count) if count.isdigit() else None

    def _count_later(self, study_uid: str, series_uid: str | None) -> "Future[int | None]":
        """The study count, queried on a side thread while the WADO-RS stream runs (it took ~20 ms
        of a ~200 ms retrieve when asked first). A series retrieve has no count to compare with."""
        import pydicom.dataset  # noqa: F401  # imported here: a first import racing in two threads can fail

        future: Future[int | None] = Future()
        if series_uid:
            future.set_result(None)
            return future

        def run() -> None:
            try:
                future.set_result(self.study_count(study_uid))
            except BaseException as exc:  # surfaced by future.result() in the caller
                future.set_exception(exc)

        threading.Thread(target=run, name="telerad-qido-count", daemon=True).start()
        return future

    def _count_result(self, count: "Future[int | None]") -> int | None:
        """The side query's count; if it failed, None (the stream itself ended at its close
        delimiter, so only the count check is lost) and a warning."""
        try:
            return count.result(self.timeout)
        except Exception as exc:
            LOG.warning("QIDO-RS count from %s failed (%s): completeness not checked against it", self.host, exc)
            return None

    def _plan(self, study_uid: str, series_uid: str | None, have: Iterable[str]) -> tuple[list[str], int | None]:
        have = set(have)
        series = [series_uid] if series_uid else [
            s["SeriesInstanceUID"] for s in self.search(Query(study_uid=study_uid), "series")]
        paths = []
        for s in series:
            for inst in self.search(Query(study_uid=study_uid, series_uid=s), "image"):
                if inst.get("SOPInstanceUID") and inst["SOPInstanceUID"] not in have:
                    paths.append(f"/studies/{study_uid}/series/{s}/instances/{inst['SOPInstanceUID']}")
        return paths, len(paths)

    def _meta(self, data: bytes, node_name: str | None) -> ReceivedMeta:
        uids = part10_uids(data)
        return ReceivedMeta(uids["SOPClassUID"], uids["SOPInstanceUID"], uids["StudyInstanceUID"],
                            uids["SeriesInstanceUID"], "", "", self.host, node_name, True)

    # -- STOW-RS -----------------------------------------------------------------------------
    def store(self, paths: Sequence[Path], study_uid: str | None = None) -> dict[str, Any]:
        """STOW-RS the files in one request; returns the response (DICOM JSON) as a dict."""
        from app.crypto import read_stored

        boundary, body = encode_related([read_stored(p) for p in paths])  # plaintext, encrypted at rest or not
        url = f"/studies/{study_uid}" if study_uid else "/studies"
        r = self._call("POST", url, body=body, headers={
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json"})
        return r.json() or {}

    def _call(self, method: str, path: str, **kw: Any) -> Response:
        """One request (:meth:`HttpClient.request`); HTTP errors as :class:`DicomWebError`."""
        try:
            return self._http.request(method, path, **kw)
        except HttpError as exc:
            raise DicomWebError(str(exc)) from None
        except http.client.HTTPException as exc:
            raise DicomWebError(f"{method} {path}: {type(exc).__name__}: {exc}") from None
