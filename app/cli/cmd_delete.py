"""`telerad delete STUDY_UID`: remove a study's rows and files from the cache and its unsigned reports; say what
is kept (signed reports, under the retention rule) and why."""

from __future__ import annotations

import argparse
import sys

from app.cli.context import workstation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study_uid", metavar="STUDY_UID")


def execute(args: argparse.Namespace) -> int:
    with workstation(args) as ws:
        result = ws.delete_study(args.study_uid)
    if not result:
        print(f"telerad delete: no study {args.study_uid} in the cache", file=sys.stderr)
        return 1
    done = result.deleted()
    print(f"deleted study {args.study_uid}" + (f": {done}" if done else ""))
    for line in result.kept():
        print(line)
    return 0
