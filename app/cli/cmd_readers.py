"""`telerad --group URL readers add NAME --facility F --license STATE --subspecialty S --cap N`,
`readers list [--json]`, `readers facility NAME --state ST` (where a facility's patients are: the licence a
reader needs for its studies)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from app.cli.context import workstation


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
    facility = subs.add_parser("facility", help="record the state a facility's patients are in")
    facility.add_argument("name")
    facility.add_argument("--state", required=True)


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
            found = set_facility(db, args.name, args.state)
            print(f"{found.name}: patients in {found.state}")
        else:
            readers = list_readers(db)
            if args.json:
                print(json.dumps([asdict(r) for r in readers], indent=2))
            else:
                for profile in readers:
                    print(_line(profile))
                if not readers:
                    print("no readers (telerad readers add NAME --facility F --license STATE)")
    return 0


def _line(p: object) -> str:
    d = asdict(p)  # type: ignore[call-overload]
    return (f"{d['name']}  cap {d['cap']} (holding {d['holding']})  facilities {','.join(d['facilities']) or '-'}  "
            f"licences {','.join(d['licenses']) or '-'}  subspecialties {','.join(d['subspecialties']) or 'all'}")
