"""Group commit for :meth:`Cache.store_many`: the same per-object rules as ``store_bytes``, but every
file of the batch is fsync'd and renamed first, each touched directory fsync'd once, then ONE index
transaction. A crash before the commit leaves renamed files without rows: reconcile adopts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from app.store.crash import crashpoint
from app.store.files import object_relpath, quarantine_relpath, resolve_inside, write_many
from app.store.index import index_instance, refresh_counts
from app.store.models import StoreResult
from app.store.prepare import Prepared

if TYPE_CHECKING:
    import sqlite_utils

Entry = tuple[Prepared, "str | None", "str | None"]  # prepared object, source node, source label

_EXISTING_SQL = (
    "SELECT i.sha256, i.state, i.path, st.study_uid, i.transfer_syntax FROM instances i"
    " JOIN series se ON se.id = i.series_ref"
    " JOIN studies st ON st.id = se.study_ref WHERE i.sop_uid = ?"
)
DUPLICATE = "identical instance already stored"
TRANSCODED = "same instance already stored (same pixels, another lossless encoding)"
RESTORED = "restored a missing file"
CONFLICT = "SOP Instance UID already stored with different content"


@dataclass
class Plan:
    """What one batch writes and indexes."""

    files: dict[PurePosixPath, bytes | Path] = field(default_factory=dict)  # content, or its staged temp file
    new: list[tuple[Prepared, str | None]] = field(default_factory=list)  # to index, with source node
    restore: list[str] = field(default_factory=list)  # SOP UIDs whose missing file is written again
    quarantine: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> quarantine row
    conflicts: set[str] = field(default_factory=set)  # study UIDs to flag
    seen: dict[str, tuple[str, str]] = field(default_factory=dict)  # SOP UID -> (sha256, study UID)


def _source(p: Prepared) -> bytes | Path:
    return Path(p.staged) if p.staged else p.content


def _known(db: sqlite_utils.Database, root: Path, plan: Plan, p: Prepared) -> tuple[str, str, bool, str] | None:
    """(sha256, study UID, file present, indexed path) of an instance already stored or accepted earlier
    in the batch."""
    uid = p.header.sop_instance_uid
    if uid in plan.seen:
        sha, study = plan.seen[uid]
        return sha, study, True, ""
    row = db.execute(_EXISTING_SQL, [uid]).fetchone()
    if row is None:
        return None
    return row[0], row[3], row[1] == "ok" and (root / row[2]).is_file(), row[2]


def _transcoded_copy(db: sqlite_utils.Database, root: Path, p: Prepared) -> bool:
    row = db.execute(_EXISTING_SQL, [p.header.sop_instance_uid]).fetchone()
    if row is None or row[1] != "ok":
        return False
    from app.store.equivalent import same_instance_other_syntax

    if p.staged:
        from app.crypto import read_stored

        p = replace(p, content=read_stored(p.staged))
    return same_instance_other_syntax(resolve_inside(root, row[2]), row[4] or "", p)


def plan_quarantine(db: sqlite_utils.Database, root: Path, plan: Plan, p: Prepared, reason: str,
                     node: str | None, source: str | None, now: str) -> None:
    rel = quarantine_relpath(p.sha256)
    key = rel.as_posix()
    if key in plan.quarantine:
        return
    known = db.execute("SELECT 1 FROM quarantine WHERE path = ?", [key]).fetchone() is not None
    if not known or not (root / rel).is_file():
        plan.files[rel] = _source(p)
    if not known:
        plan.quarantine[key] = {
            "path": key, "sha256": p.sha256, "sop_uid": p.header.sop_instance_uid,
            "study_uid": p.header.study_instance_uid, "reason": reason, "source": source,
            "source_node": node, "time": now,
        }


def plan_entry(db: sqlite_utils.Database, root: Path, plan: Plan, entry: Entry, now: str) -> StoreResult:
    """Decide one object's outcome (exactly the rules of ``store_bytes``) and add its work to ``plan``."""
    p, node, source = entry
    h = p.header
    info = dict(sop_instance_uid=h.sop_instance_uid, study_instance_uid=h.study_instance_uid,
                patient_id=h.patient_id)
    known = _known(db, root, plan, p)
    if known is not None and known[0] == p.sha256:
        if known[2]:
            return StoreResult("duplicate", DUPLICATE, **info)
        plan.files[PurePosixPath(known[3])] = _source(p)  # where its row says (older layouts too)
        plan.restore.append(h.sop_instance_uid)
        plan.seen[h.sop_instance_uid] = (p.sha256, known[1])
        return StoreResult("imported", RESTORED, **info)
    if known is not None and _transcoded_copy(db, root, p):
        return StoreResult("duplicate", TRANSCODED, **info)
    if known is not None:
        plan_quarantine(db, root, plan, p, CONFLICT, node, source, now)
        plan.conflicts.update((known[1], h.study_instance_uid))
        return StoreResult("quarantined", CONFLICT, **info)
    plan.files[object_relpath(h.sop_instance_uid, h.study_instance_uid)] = _source(p)
    plan.new.append((p, node))
    plan.seen[h.sop_instance_uid] = (p.sha256, h.study_instance_uid)
    return StoreResult("imported", None, **info)


def _commit(db: sqlite_utils.Database, plan: Plan, now: str) -> None:
    studies: set[int] = set()
    with db.atomic():
        for p, node in plan.new:
            rel = object_relpath(p.header.sop_instance_uid, p.header.study_instance_uid).as_posix()
            studies.add(index_instance(db, p.header, path=rel,
                                       size=p.size, sha256=p.sha256, source_node=node, now=now,
                                       refresh=False))
        for uid in plan.restore:
            db.execute("UPDATE instances SET state = 'ok' WHERE sop_uid = ?", [uid])
        for row in plan.quarantine.values():
            db["quarantine"].insert(row)
        for study_uid in sorted(plan.conflicts):
            db.execute("UPDATE studies SET conflict = 1 WHERE study_uid = ?", [study_uid])
        for study_ref in sorted(studies):
            refresh_counts(db, study_ref, now)
        if plan.new:
            crashpoint("before_commit")
    if plan.new:
        crashpoint("after_commit")


def execute(db: sqlite_utils.Database, root: Path, plan: Plan, now: str) -> None:
    """Write every planned file durably, then commit the rows; on failure undo the new files and raise."""
    written: list[Path] = []
    try:
        write_many(root, list(plan.files.items()), written)
        if plan.new or plan.restore or plan.quarantine or plan.conflicts:
            _commit(db, plan, now)
    except BaseException:
        new_paths = {resolve_inside(root, object_relpath(p.header.sop_instance_uid, p.header.study_instance_uid))
                     for p, _node in plan.new}
        new_paths |= {resolve_inside(root, rel) for rel in plan.quarantine}
        for path in written:
            if path in new_paths:
                path.unlink(missing_ok=True)
        raise
