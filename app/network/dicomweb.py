"""DICOMweb client (QIDO-RS, WADO-RS, STOW-RS) over httpx: the second transport of a node.

WADO-RS responses are parsed as a stream (multipart/related), one instance at a time, and each
instance goes through the same ``on_stored`` callback as DIMSE retrieves.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence
from urllib.parse import urlsplit

from app.network import netaudit
from app.network.multipart import boundary_of, encode_related, iter_parts
from app.network.nodes import Node, NodeError, TlsSettings
from app.network.query import RETURN_KEYS, Level, Query, to_record
from app.network.received import ReceivedMeta, StoreCallback, StoreOutcome, part10_uids
from app.network.retrieve import RetrieveResult
from app.tasks import Cancelled, ProgressFn, check_cancel, report

if TYPE_CHECKING:
    from app.audit import AuditLog

ACCEPT_DICOM = 'multipart/related; type="application/dicom"; transfer-syntax=*'


class DicomWebError(RuntimeError):
    """An HTTP error or an unusable DICOMweb response."""


class DicomWebClient:
    """One HTTP connection pool to a DICOMweb base URL (``.../dicom-web``)."""

    def __init__(self, base_url: str, tls: TlsSettings | None = None, timeout: float = 60.0) -> None:
        import httpx

        verify: Any = True
        if tls is not None and tls.enabled and tls.ca_file:
            from app.network.tls import client_context

            verify = client_context(tls)
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).hostname or "?"
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, verify=verify)

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
        r = self._http.get(path, params=params, headers={"Accept": "application/dicom+json"})
        if r.status_code == 204:
            return []
        self._check(r)
        return [to_record(Dataset.from_json(item)) for item in (r.json() or [])]

    # -- WADO-RS -----------------------------------------------------------------------------
    def iter_instances(self, path: str, cancel: threading.Event | None = None) -> Iterator[bytes]:
        """Part 10 bytes of every instance under ``path`` (``/studies/UID[/series/UID...]``)."""
        with self._http.stream("GET", path, headers={"Accept": ACCEPT_DICOM}) as r:
            self._check(r)
            boundary = boundary_of(r.headers.get("content-type", ""))
            for part in iter_parts(r.iter_bytes(1024 * 1024), boundary):
                check_cancel(cancel)
                yield part

    def retrieve_study(self, study_uid: str, on_stored: StoreCallback, *, series_uid: str | None = None,
                       have: set[str] | frozenset[str] = frozenset(), node_name: str | None = None,
                       audit: "AuditLog | None" = None, user: str | None = None,
                       cancel: threading.Event | None = None, progress: ProgressFn | None = None) -> RetrieveResult:
        """WADO-RS a study (or series); with ``have``, only the missing instances, one by one.

        Instances are stored on a background writer while the download goes on; this returns once
        all are durable (failures count in ``failed``: the result is then incomplete)."""
        from app.network.writer import BackgroundStore

        paths, expected = self._plan(study_uid, series_uid, have)
        result = RetrieveResult(study_uid, "get", expected, expected if have else None)
        result.method = "dicomweb"  # type: ignore[assignment]
        netaudit.begin_transfer(audit, node=node_name or self.host, study_uid=study_uid, method="WADO-RS", user=user)
        lock = threading.Lock()

        def record(meta: ReceivedMeta, outcome: StoreOutcome) -> None:
            with lock:
                result.outcomes[outcome.status] += 1
                if outcome.status != "rejected":
                    result.received.add(meta.sop_instance_uid)
            report(progress, len(result.received), expected or 0, "instances")

        # download + multipart parse here, durable stores on the writer thread (see app.network.writer)
        writer = BackgroundStore(on_stored, record, name="telerad-wado-writer")
        try:
            try:
                for path in paths:
                    for data in self.iter_instances(path, cancel):
                        writer.submit(data, self._meta(data, node_name))
            finally:
                writer.close()
        except Cancelled as exc:
            result.cancelled = True
            exc.result = result  # type: ignore[attr-defined]
            raise
        finally:
            stored = sum(result.outcomes[k] for k in ("imported", "duplicate", "quarantined"))
            netaudit.transfer(audit, direction="retrieved", node=node_name or self.host, study_uid=study_uid,
                              count=stored, failed=result.outcomes["rejected"], user=user,
                              outcome=4 if result.cancelled else None,
                              extra={"method": "WADO-RS", "incomplete": result.incomplete})
        result.failed += writer.failed
        result.statuses.append(0)
        return result

    def _plan(self, study_uid: str, series_uid: str | None, have: Iterable[str]) -> tuple[list[str], int | None]:
        have = set(have)
        base = f"/studies/{study_uid}" + (f"/series/{series_uid}" if series_uid else "")
        if not have:
            studies = self.search(Query(study_uid=study_uid), "study")
            count = studies[0].get("NumberOfStudyRelatedInstances", "") if studies else ""
            return [base], (int(count) if count.isdigit() and not series_uid else None)
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
        boundary, body = encode_related([Path(p).read_bytes() for p in paths])
        url = f"/studies/{study_uid}" if study_uid else "/studies"
        r = self._http.post(url, content=body, headers={
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json"})
        self._check(r)
        return r.json() if r.content else {}

    @staticmethod
    def _check(r: Any) -> None:
        if r.status_code >= 400:
            r.read()
            raise DicomWebError(f"{r.request.method} {r.request.url.path}: HTTP {r.status_code}")
