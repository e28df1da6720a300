"""Peer review (RADPEER-style): a sample of colleagues' final reports, offered to readers for a score.

Sampling rule (the group's ``peer_review_settings`` row): of each reader's final reports, the share
``fraction`` (rounded) is sampled, the reports taken in the order of ``md5(seed || report_id)`` (fixed seed:
the same sample every time). A report is sampled at most once (``peer_reviews`` is keyed by report) and
offered to one reviewer, never its own reader, credentialed for its facility. Scores: 1 concur; 2 a
discrepancy in interpretation not ordinarily expected to be made, 3 one that should be made most of the
time; a/b: unlikely/likely clinically significant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional

from app.group.connection import GroupError

if TYPE_CHECKING:
    import psycopg

    from app.group.connection import GroupDB

SCORES = ("1", "2a", "2b", "3a", "3b")
MEANING = {"1": "concur with the interpretation",
           "2a": "discrepancy not ordinarily expected to be made, unlikely clinically significant",
           "2b": "discrepancy not ordinarily expected to be made, likely clinically significant",
           "3a": "discrepancy that should be made most of the time, unlikely clinically significant",
           "3b": "discrepancy that should be made most of the time, likely clinically significant"}
SAMPLE_LOCK = 0x7E1E_0019  # pg_advisory_xact_lock key: one sampling pass at a time
NOTE_MAX = 4000


@dataclass(frozen=True)
class PeerSettings:
    fraction: float
    seed: str


@dataclass(frozen=True)
class PeerOffer:
    report_id: str
    study_uid: str
    reader: str  # who signed the report under review
    facility: str
    sampled_at: datetime


@dataclass(frozen=True)
class PeerSummary:
    reader: str
    sampled: int
    reviewed: int
    concordant_pct: Optional[float]  # share of score 1 among the reviewed (None: none reviewed)
    scores: dict[str, int] = field(default_factory=dict)


def settings(db: "GroupDB") -> PeerSettings:
    row = db.run(lambda conn: conn.execute("SELECT fraction, seed FROM peer_review_settings").fetchone())
    return PeerSettings(float(row[0]), str(row[1]))


def configure(db: "GroupDB", *, fraction: Optional[float] = None, seed: Optional[str] = None) -> PeerSettings:
    """Change the group's sampling rule (reports already sampled stay sampled)."""
    if fraction is not None and not 0.0 <= fraction <= 1.0:
        raise GroupError(f"the peer-review fraction must be between 0 and 1 (0.03 = 3 %), not {fraction}")
    db.run(lambda conn: conn.execute("UPDATE peer_review_settings SET fraction = coalesce(%s, fraction), "
                                     "seed = coalesce(%s, seed)", (fraction, seed)))
    return settings(db)


# each reader's quota (round(fraction * final reports)) minus what is sampled already, lowest hashes first
_SAMPLE = """
WITH cfg AS (SELECT fraction, seed FROM peer_review_settings),
finals AS (SELECT r.report_id, r.reader, r.study_uid, count(*) OVER (PARTITION BY r.reader) AS n
           FROM report_states r WHERE r.state = 'final'),
taken AS (SELECT reader, count(*) AS k FROM peer_reviews GROUP BY reader),
fresh AS (SELECT f.*, row_number() OVER (PARTITION BY f.reader ORDER BY md5(cfg.seed || f.report_id),
                                         f.report_id) AS rn
          FROM finals f CROSS JOIN cfg
          WHERE NOT EXISTS (SELECT 1 FROM peer_reviews p WHERE p.report_id = f.report_id))
INSERT INTO peer_reviews (report_id, study_uid, reader, facility)
SELECT c.report_id, c.study_uid, c.reader, coalesce(s.facility, '')
FROM fresh c CROSS JOIN cfg LEFT JOIN taken t ON t.reader = c.reader LEFT JOIN studies s ON s.study_uid = c.study_uid
WHERE c.rn <= floor(cfg.fraction * c.n + 0.5) - coalesce(t.k, 0)
ON CONFLICT DO NOTHING
"""

_COLUMNS = "report_id, study_uid, reader, facility, sampled_at"


def _sample(conn: "psycopg.Connection[Any]") -> int:
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (SAMPLE_LOCK,))
    return conn.execute(_SAMPLE).rowcount


def sample(db: "GroupDB") -> int:
    """Bring the sample up to the rule; the number of reports newly sampled."""
    return int(db.run(_sample))


def offer(db: "GroupDB", reviewer: str) -> Optional[PeerOffer]:
    """The next sampled colleague report ``reviewer`` may review (the one offered before and not scored yet
    first), reserved for them; None: nothing to review."""

    def work(conn: "psycopg.Connection[Any]") -> Optional[PeerOffer]:
        if conn.execute("SELECT 1 FROM readers WHERE name = %s AND active", (reviewer,)).fetchone() is None:
            raise GroupError(f"no active reader {reviewer!r} in the group")
        _sample(conn)
        row = conn.execute(f"SELECT {_COLUMNS} FROM peer_reviews WHERE reviewer = %s AND score IS NULL "
                           "ORDER BY offered_at, report_id LIMIT 1", (reviewer,)).fetchone()
        if row is None:
            row = conn.execute(
                f"UPDATE peer_reviews SET reviewer = %(r)s, offered_at = now() WHERE report_id = ("
                "SELECT p.report_id FROM peer_reviews p WHERE p.reviewer IS NULL AND p.reader <> %(r)s "
                "AND p.facility IN (SELECT facility FROM reader_facilities WHERE reader = %(r)s) "
                f"ORDER BY p.sampled_at, p.report_id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING {_COLUMNS}",
                {"r": reviewer}).fetchone()
        return PeerOffer(*row) if row is not None else None

    return db.run(work)


def normalise_score(score: str) -> str:
    value = str(score).strip().lower()
    if value not in SCORES:
        raise GroupError(f"RADPEER score {score!r} unknown: give one of {', '.join(SCORES)} "
                         "(1 concur; 2/3 discrepancy not expected / expected to be made; a/b unlikely / likely "
                         "clinically significant)")
    return value


def score(db: "GroupDB", reviewer: str, report_id: str, score: str, note: str = "") -> PeerOffer:
    """Record ``reviewer``'s score of the report offered to them; the report scored. A retry of the same
    score changes nothing; another score of a scored report is refused."""
    value, note = normalise_score(score), (note or "").strip()
    if len(note) > NOTE_MAX:
        raise GroupError(f"the peer-review note is too long ({len(note)} characters, at most {NOTE_MAX})")

    def work(conn: "psycopg.Connection[Any]") -> PeerOffer:
        row = conn.execute(f"SELECT {_COLUMNS}, reviewer, score FROM peer_reviews WHERE report_id = %s FOR UPDATE",
                           (report_id,)).fetchone()
        if row is None:
            raise GroupError(f"report {report_id} is not sampled for peer review")
        found, by, given = PeerOffer(*row[:5]), row[5], row[6]
        if found.reader == reviewer:
            raise GroupError(f"report {report_id} is your own: a colleague reviews it")
        if by != reviewer:
            raise GroupError(f"report {report_id} was not offered to you for review (telerad review next)")
        if given is not None:
            if given == value:
                return found  # a retried request
            raise GroupError(f"report {report_id} is already scored {given}")
        conn.execute("UPDATE peer_reviews SET score = %s, note = %s, scored_at = now() WHERE report_id = %s",
                     (value, note, report_id))
        return found

    return db.run(work)


_SUMMARY = """
SELECT reader, count(*), count(score), """ + ", ".join(f"count(*) FILTER (WHERE score = '{s}')" for s in SCORES) + """
FROM peer_reviews GROUP BY reader ORDER BY reader
"""


def summary(db: "GroupDB") -> list[PeerSummary]:
    """Per reader whose reports were sampled: sampled, reviewed, % concordant (score 1), counts per score."""
    rows = db.run(lambda conn: conn.execute(_SUMMARY).fetchall(), transaction=False)
    out = []
    for reader, sampled, reviewed, *counts in rows:
        scores = dict(zip(SCORES, (int(c) for c in counts)))
        pct = round(100.0 * scores["1"] / reviewed, 1) if reviewed else None
        out.append(PeerSummary(reader, int(sampled), int(reviewed), pct, scores))
    return out
