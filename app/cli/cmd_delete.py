"""`telerad delete STUDY_UID`: remove a study's rows and files from the cache."""

from __future__ import annotations

import argparse
import sys

from app.cli.context import workstation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study_uid", metavar="STUDY_UID")


def execute(args: argparse.Namespace) -> int:
    with workstation(args) as ws:
        if not ws.delete_study(args.study_uid):
            print(f"telerad delete: no study {args.study_uid} in the cache", file=sys.stderr)
            return 1
    print(f"deleted study {args.study_uid}")
    return 0
