"""The group database schema and its ordered migrations (as app.db.migrations does for SQLite files).

``STEPS[i]`` moves the schema from version ``i`` to ``i + 1``; applied versions are rows of
``group_schema``. Migrating holds a transaction-level advisory lock, so fifty workstations connecting at
once migrate the database once; a schema newer than this application is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from app.group.connection import GroupError

if TYPE_CHECKING:
    import psycopg

MIGRATION_LOCK = 0x7E1E_0018  # pg_advisory_xact_lock key of the migrations

_V1 = (
    """CREATE TABLE facilities (
        name text PRIMARY KEY,
        state text NOT NULL DEFAULT ''  -- where its patients are: the licence a reader needs
    )""",
    """CREATE TABLE readers (
        name text PRIMARY KEY,
        cap integer NOT NULL DEFAULT 5 CHECK (cap >= 0),  -- studies held at once
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now()
    )""",
    "CREATE TABLE reader_facilities (reader text NOT NULL REFERENCES readers ON DELETE CASCADE, "
    "facility text NOT NULL, PRIMARY KEY (reader, facility))",
    "CREATE TABLE reader_licenses (reader text NOT NULL REFERENCES readers ON DELETE CASCADE, "
    "state text NOT NULL, PRIMARY KEY (reader, state))",
    "CREATE TABLE reader_subspecialties (reader text NOT NULL REFERENCES readers ON DELETE CASCADE, "
    "subspecialty text NOT NULL, PRIMARY KEY (reader, subspecialty))",
    """CREATE TABLE studies (
        study_uid text PRIMARY KEY,
        facility text NOT NULL,
        patient_key text NOT NULL DEFAULT '',  -- a hash of (patient ID, issuer): same-patient affinity, no PHI
        patient_state text NOT NULL DEFAULT '',
        modality text NOT NULL DEFAULT '',
        subspecialty text NOT NULL DEFAULT 'general',
        priority text NOT NULL CHECK (priority IN ('STAT', 'urgent', 'routine')),
        priority_rank smallint NOT NULL,
        queue_rank smallint GENERATED ALWAYS AS (CASE WHEN priority = 'STAT' THEN 0 ELSE 1 END) STORED,
        due timestamptz NOT NULL,
        status text NOT NULL DEFAULT 'unread'
            CHECK (status IN ('unread', 'in_progress', 'preliminary', 'final', 'amended')),
        claimed_by text,
        claim_token text,
        claimed_at timestamptz,
        lease_until timestamptz,
        read_by text,
        report_state text NOT NULL DEFAULT '',
        published_by text NOT NULL DEFAULT '',
        published_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )""",
    # one queue per (facility, patient state) in reading order: STAT first, then the turnaround clock
    # (studies still to read); "next case" merges the queues the reader is credentialed and licensed for (a
    # walk past the studies they may not read would grow with every study others leave queued)
    "CREATE INDEX studies_queue ON studies (facility, patient_state, queue_rank, due, priority_rank, study_uid) "
    "WHERE status IN ('unread', 'in_progress')",
    "CREATE INDEX studies_patient ON studies (patient_key) WHERE status IN ('unread', 'in_progress')",
    "CREATE INDEX studies_claimed ON studies (claimed_by) WHERE claimed_by IS NOT NULL",
    "CREATE UNIQUE INDEX studies_token ON studies (claim_token) WHERE claim_token IS NOT NULL",
    """CREATE TABLE study_events (  -- the history: published, claimed, renewed past expiry, released,
        id bigserial PRIMARY KEY,   -- handed over, read, report states
        study_uid text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        actor text NOT NULL,
        action text NOT NULL,
        detail jsonb NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX study_events_study ON study_events (study_uid, id)",
    """CREATE TABLE report_states (
        report_id text NOT NULL,
        state text NOT NULL,  -- preliminary | final (an original) | addended (a signed addendum)
        study_uid text NOT NULL,
        reader text NOT NULL,
        signed_at text NOT NULL DEFAULT '',
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (report_id, state)  -- a state pushed twice (a retried sync) is recorded once
    )""",
    "CREATE INDEX report_states_study ON report_states (study_uid)",
)

_NEXT_CASE = """
CREATE FUNCTION group_next_case(p_reader text, p_lease double precision, p_token text)
RETURNS TABLE (o_uid text, o_reader text, o_facility text, o_priority text, o_due timestamptz,
               o_lease_until timestamptz, o_reason text)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_cap integer; v_subs boolean; v_held integer; v_mine text[]; v_skip text[] := '{}'; v_rules boolean;
  v_uid text; v_patient text; v_previous text; v_facilities text[]; v_states text[];
BEGIN
  -- a retry of a request that committed before its connection was lost gets the same claim
  RETURN QUERY SELECT s.study_uid, s.claimed_by, s.facility, s.priority, s.due, s.lease_until, ''::text
    FROM studies s WHERE s.claim_token = p_token AND s.claimed_by = p_reader;
  IF FOUND THEN RETURN; END IF;
  SELECT r.cap, EXISTS (SELECT 1 FROM reader_subspecialties x WHERE x.reader = p_reader) INTO v_cap, v_subs
    FROM readers r WHERE r.name = p_reader AND r.active;
  IF NOT FOUND THEN RAISE EXCEPTION 'no active reader %', p_reader; END IF;
  v_rules := EXISTS (SELECT 1 FROM assignment_rules);  -- none: the queue is as without rules
  SELECT count(*), coalesce(array_agg(DISTINCT s.patient_key) FILTER (WHERE s.patient_key <> ''), '{}')
    INTO v_held, v_mine FROM studies s
    WHERE s.claimed_by = p_reader AND s.status = 'in_progress' AND s.lease_until > now();
  IF v_held >= v_cap THEN
    RETURN QUERY SELECT NULL::text, NULL::text, NULL::text, NULL::text, NULL::timestamptz, NULL::timestamptz, 'cap';
    RETURN;
  END IF;
  SELECT array_agg(f.facility), array_agg(l.state) INTO v_facilities, v_states
    FROM reader_facilities f JOIN reader_licenses l ON l.reader = f.reader WHERE f.reader = p_reader;
  FOR pass IN 1..2 LOOP
    CONTINUE WHEN pass = 1 AND cardinality(v_mine) = 0;
    LOOP
      IF pass = 1 THEN  -- same-patient affinity: this reader's patients first
        SELECT s.study_uid, s.patient_key, s.claimed_by INTO v_uid, v_patient, v_previous FROM studies s
          WHERE s.patient_key = ANY(v_mine) AND @ELIGIBLE@ @ORDER@;
      ELSE  -- the head of each queue the reader may read (locked), the most urgent of them
        SELECT c.study_uid, c.patient_key, c.claimed_by INTO v_uid, v_patient, v_previous
          FROM unnest(v_facilities, v_states) AS q(facility, state) CROSS JOIN LATERAL (
            SELECT s.study_uid, s.patient_key, s.claimed_by, s.queue_rank, s.due, s.priority_rank FROM studies s
            WHERE s.facility = q.facility AND s.patient_state = q.state AND @ELIGIBLE@ @ORDER@) c
          ORDER BY c.queue_rank, c.due, c.priority_rank, c.study_uid LIMIT 1;
      END IF;
      EXIT WHEN NOT FOUND;
      IF v_patient <> '' AND NOT (pg_try_advisory_xact_lock(@LOCK@, hashtext(v_patient)) AND NOT EXISTS (
          SELECT 1 FROM studies o WHERE o.patient_key = v_patient AND o.status = 'in_progress'
          AND o.claimed_by <> p_reader AND o.lease_until > now())) THEN
        v_skip := v_skip || v_uid;  -- another reader is claiming this patient right now
        CONTINUE;
      END IF;
      UPDATE studies s SET status = 'in_progress', claimed_by = p_reader, claim_token = p_token,
        claimed_at = now(), lease_until = now() + make_interval(secs => p_lease), updated_at = now()
        WHERE s.study_uid = v_uid;
      INSERT INTO study_events (study_uid, actor, action, detail) VALUES (v_uid, p_reader, 'claimed',
        CASE WHEN v_previous IS NULL THEN jsonb_build_object('lease_s', p_lease)
             ELSE jsonb_build_object('lease_s', p_lease, 'expired_claim_of', v_previous) END);
      RETURN QUERY SELECT s.study_uid, s.claimed_by, s.facility, s.priority, s.due, s.lease_until, ''::text
        FROM studies s WHERE s.study_uid = v_uid;
      RETURN;
    END LOOP;
  END LOOP;
  RETURN QUERY SELECT NULL::text, NULL::text, NULL::text, NULL::text, NULL::timestamptz, NULL::timestamptz, 'empty';
END
$fn$
"""


def _next_case_function() -> str:
    from app.group.queue import ELIGIBLE, PATIENT_LOCK_CLASS, READING_ORDER
    from app.group.rules import MATCH

    return (_NEXT_CASE.replace("@ELIGIBLE@", ELIGIBLE).replace("@ORDER@", READING_ORDER)
            .replace("@LOCK@", str(PATIENT_LOCK_CLASS)).replace("@MATCH@", MATCH))


# v2: a notification on every change of the shared worklist (LISTEN telerad_worklist: app.group.live)
_V2 = (
    """CREATE FUNCTION group_notify_worklist() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      PERFORM pg_notify('telerad_worklist', lower(TG_OP));
      RETURN NULL;
    END
    $fn$""",
    "CREATE TRIGGER studies_changed AFTER INSERT OR UPDATE OR DELETE ON studies "
    "FOR EACH STATEMENT EXECUTE FUNCTION group_notify_worklist()",
)

# v3: peer review (app.group.peer_review): the group's sampling rule (one row) and the sampled reports
_V3 = (
    """CREATE TABLE peer_review_settings (
        id boolean PRIMARY KEY DEFAULT true CHECK (id),  -- one row: the group's rule
        fraction double precision NOT NULL DEFAULT 0.03 CHECK (fraction >= 0 AND fraction <= 1),
        seed text NOT NULL DEFAULT md5(random()::text)  -- which reports are sampled (fixed: reproducible)
    )""",
    "INSERT INTO peer_review_settings DEFAULT VALUES",
    """CREATE TABLE peer_reviews (
        report_id text PRIMARY KEY,  -- a report is sampled at most once
        study_uid text NOT NULL,
        reader text NOT NULL,  -- who signed the report
        facility text NOT NULL DEFAULT '',
        sampled_at timestamptz NOT NULL DEFAULT now(),
        reviewer text CHECK (reviewer IS NULL OR reviewer <> reader),
        offered_at timestamptz,
        score text CHECK (score IN ('1', '2a', '2b', '3a', '3b')),
        note text NOT NULL DEFAULT '',
        scored_at timestamptz
    )""",
    "CREATE INDEX peer_reviews_open ON peer_reviews (facility, sampled_at, report_id) WHERE reviewer IS NULL",
    "CREATE INDEX peer_reviews_reviewer ON peer_reviews (reviewer) WHERE score IS NULL",
)

# v4: "next case" keeps one generic plan per session for its statements: the default (a custom plan per
# call for the queue-merge query) spent more time planning than executing (bench/group.py: 50 readers'
# p95 50-70 ms -> 38-47 ms on 2 cores)
_V4 = ("ALTER FUNCTION group_next_case(text, double precision, text) SET plan_cache_mode = force_generic_plan",)

# v5: the turnaround dashboard (app.group.tat): when each study arrived (NULL: published before v5, its
# published_at stands in) and each facility's contract turnaround target per priority
_V5 = (
    "ALTER TABLE studies ADD COLUMN arrival timestamptz",
    """CREATE TABLE facility_targets (
        facility text NOT NULL,
        priority text NOT NULL CHECK (priority IN ('STAT', 'urgent', 'routine')),
        minutes double precision NOT NULL CHECK (minutes > 0),
        PRIMARY KEY (facility, priority)
    )""",
)

# v6: assignment rules (app.group.rules): a worklist filter and the readers its studies go to; "next case"
# replaced to honour them (its generic plan setting of v4 set again: a replaced function loses it)
_V6 = (
    """CREATE TABLE assignment_rules (
        name text PRIMARY KEY,
        facility text, modality text, subspecialty text,  -- NULL: any
        priority text CHECK (priority IS NULL OR priority IN ('STAT', 'urgent', 'routine')),
        created_at timestamptz NOT NULL DEFAULT now()
    )""",
    "CREATE TABLE assignment_rule_readers (rule text NOT NULL REFERENCES assignment_rules ON DELETE CASCADE, "
    "reader text NOT NULL REFERENCES readers ON DELETE CASCADE, PRIMARY KEY (rule, reader))",
    _next_case_function().replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1),
    *_V4,
)

STEPS: Sequence[Sequence[str]] = ((*_V1, _next_case_function()), _V2, _V3, _V4, _V5, _V6)
SCHEMA_VERSION = len(STEPS)


class GroupSchemaTooNew(GroupError):
    """The group database was migrated by a newer application."""


def schema_version(conn: "psycopg.Connection[Any]") -> int:
    row = conn.execute("SELECT coalesce(max(version), 0) FROM group_schema").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: "psycopg.Connection[Any]") -> int:
    """Apply the pending steps in one transaction; return the version found before."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS group_schema (version integer PRIMARY KEY, "
                     "applied_at timestamptz NOT NULL DEFAULT now())")
        found = schema_version(conn)
        if found > SCHEMA_VERSION:
            raise GroupSchemaTooNew(f"group database schema {found} is newer than this application supports "
                                    f"({SCHEMA_VERSION})")
        for step in range(found, SCHEMA_VERSION):
            for statement in STEPS[step]:
                conn.execute(statement)  # type: ignore[call-overload]  # literal SQL of this module
            conn.execute("INSERT INTO group_schema (version) VALUES (%s)", (step + 1,))
    return found
