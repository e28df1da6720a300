"""`telerad --group URL readers add NAME --facility F --license STATE --subspecialty S --cap N`,
`readers list [--json]`, `readers facility NAME [--state ST] [--target PRIORITY=MINUTES ...]` (where a
facility's patients are: the licence a reader needs for its studies; its contract turnaround targets, which
`telerad tat` measures breaches against)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from app.cli.context import workstation
from app.cli.listing import print_records


def add_arguments(parser: argparse.ArgumentParser) -> None:
    subs = parser.add_subparsers(dest="readers_action", metavar="ACTION", required=True)
    add = subs.add_parser("add", help="create a reader or add facilities, licences, subspecialties to their profile")
    add.add_argument("name")
    add.add_argument("--facility", action="append", default=[], help="credentialed at this facility (repeat)")
    add.add_argument("--license", action="append", default=[], metavar="STATE", help="licensed in STATE (repeat)")
    add.add_argument("--subspecialty", action="append", default=[],
                     help="reads this subspecialty (repeat; none: every subspecialty)")
    add.add_argument("--cap", type=int, help="workload cap: studies held at once (default 5)")
    add.add_argument("--replace", action="store_true", help="the lists given replace the recorded ones")
    listing = subs.add_parser("list", help="the group's readers with their profile and the studies they hold")
    listing.add_argument("--json", action="store_true")
    facility = subs.add_parser("facility", help="record a facility's patient state and contract targets")
    facility.add_argument("name")
    facility.add_argument("--state", help="the state its patients are in")
    facility.add_argument("--target", action="append", default=[], metavar="PRIORITY=MINUTES",
                          help="contract turnaround target, e.g. STAT=60 (repeat)")


def execute(args: argparse.Namespace) -> int:
    from app.group import add_reader, list_readers, set_facility
    from app.workstation.group import require

    with workstation(args) as ws:
        db = require(ws).db
        if args.readers_action == "add":
            if args.cap is not None and args.cap < 0:
                print("telerad readers add: --cap cannot be negative", file=sys.stderr)
                return 2
            profile = add_reader(db, args.name, facilities=args.facility, licenses=args.license,
                                 subspecialties=args.subspecialty, cap=args.cap, replace=args.replace)
            print(json.dumps(asdict(profile)) if getattr(args, "json", False) else _line(profile))
        elif args.readers_action == "facility":
            return _facility(db, args)
        else:
            print_records(list_readers(db), args.json, _line,
                          "no readers (telerad readers add NAME --facility F --license STATE)")
    return 0


def _line(p: object) -> str:
    d = asdict(p)  # type: ignore[call-overload]
    return (f"{d['name']}  cap {d['cap']} (holding {d['holding']})  facilities {','.join(d['facilities']) or '-'}  "
            f"licences {','.join(d['licenses']) or '-'}  subspecialties {','.join(d['subspecialties']) or 'all'}")


def _facility(db: object, args: argparse.Namespace) -> int:
    from app.group import set_facility
    from app.group.tat import set_targets
    from app.worklist import Priority

    if not args.state and not args.target:
        print("telerad readers facility: give --state and/or --target PRIORITY=MINUTES", file=sys.stderr)
        return 2
    try:
        targets = {Priority.parse(p).value: float(m) for p, _, m in (t.partition("=") for t in args.target)}
    except ValueError:
        print(f"telerad readers facility: a target is PRIORITY=MINUTES (STAT=60): {args.target}", file=sys.stderr)
        return 2
    if args.state:
        found = set_facility(db, args.name, args.state)  # type: ignore[arg-type]
        print(f"{found.name}: patients in {found.state}")
    if targets:
        recorded = set_targets(db, args.name, targets)  # type: ignore[arg-type]
        print(f"{args.name.strip()}: targets " + ", ".join(f"{p} {m:g} min" for p, m in recorded.items()))
    return 0
