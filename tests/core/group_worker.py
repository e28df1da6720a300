"""Reader processes of the group-reading tests and bench: pull "next case" until none is left (app.group only)."""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

FACILITIES = {f"F{i}": f"S{i}" for i in range(5)}  # facility -> its patients' state
ORPHAN_FACILITY = "F9"  # nobody credentialed there: its studies must stay queued


def profile(i: int) -> dict[str, Any]:
    """Reader i: credentialed at facilities i % 5 and i + 1 % 5, licensed in the states of i % 5 and i + 2 % 5:
    it may read facility i % 5 only (credentialed at the next one, but not licensed in its state)."""
    return {"facilities": [f"F{i % 5}", f"F{(i + 1) % 5}"], "licenses": [f"S{i % 5}", f"S{(i + 2) % 5}"],
            "cap": 2}


def may_read(i: int, facility: str) -> bool:
    p = profile(i)
    return facility in p["facilities"] and FACILITIES.get(facility) in p["licenses"]


def seed(url: str, studies: int, readers: int, *, orphans: int = 0, patients: int = 0) -> None:
    """Facilities, ``readers`` reader profiles and ``studies`` queued studies (plus ``orphans`` nobody may read)."""
    from app.group import GroupDB, add_reader, publish, set_facility
    from app.group.queue import Published

    rng = random.Random(18)
    now = datetime.now(timezone.utc)
    with GroupDB(url) as db:
        for name, state in FACILITIES.items():
            set_facility(db, name, state)
        set_facility(db, ORPHAN_FACILITY, "S0")
        for i in range(readers):
            add_reader(db, f"r{i}", **profile(i))
        items = [Published(f"1.2.{n}", f"F{n % 5}", rng.choice(("STAT", "urgent", "routine", "routine")),
                           now + timedelta(minutes=rng.randint(-60, 1440)), "CT",
                           patient_key=f"p{rng.randrange(patients)}" if patients else "")
                 for n in range(studies)]
        items += [Published(f"9.9.{n}", ORPHAN_FACILITY, "STAT", now, "CT") for n in range(orphans)]
        publish(db, items, "seed")


def pull(url: str, reader: str, out: Any = None, *, lease: float = 120.0, pause: float = 0.0,
         retry_for: float = 60.0) -> dict[str, Any]:
    """Claim and read until the queue has nothing for ``reader``; the studies read and claim latencies."""
    from app.group import GroupDB, complete, next_case

    read, latencies = [], []
    try:
        with GroupDB(url, retry_for=retry_for, application_name=reader) as db:
            while True:
                t0 = time.perf_counter()
                result = next_case(db, reader, lease=lease)
                latencies.append(time.perf_counter() - t0)
                if result.claim is None:
                    break
                if pause:
                    time.sleep(pause)
                complete(db, reader, result.claim.study_uid)
                read.append(result.claim.study_uid)
            outcome = {"reader": reader, "read": read, "latencies": latencies[:-1], "reconnects": db.reconnects}
    except Exception as exc:  # the test then fails at once, saying why, instead of waiting for a result
        outcome = {"reader": reader, "read": read, "error": f"{type(exc).__name__}: {exc}"}
        if out is None:
            raise
    if out is not None:
        out.put(outcome)
    return outcome


def hold(url: str, reader: str, count: int, lease: float, ready: Any) -> None:
    """Claim ``count`` studies, say which, then sleep (to be SIGKILLed holding them)."""
    from app.group import GroupDB, next_case

    db = GroupDB(url)
    held = [next_case(db, reader, lease=lease).claim for _ in range(count)]
    ready.put([c.study_uid for c in held if c is not None])
    time.sleep(600)


if __name__ == "__main__":  # python -m tests.core.group_worker URL READER: one reader as a process
    print(json.dumps(pull(sys.argv[1], sys.argv[2])))
