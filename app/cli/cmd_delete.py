"""`telerad delete STUDY_UID`: remove a study's rows and files from the cache."""

from __future__ import annotations

import argparse
import sys

from app.cli.context import audit_event, open_cache


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study_uid", metavar="STUDY_UID")


def execute(args: argparse.Namespace) -> int:
    cache = open_cache(args)
    try:
        if not cache.delete_study(args.study_uid):
            print(f"telerad delete: no study {args.study_uid} in the cache", file=sys.stderr)
            return 1
    finally:
        cache.close()
    from app.audit import events

    audit_event(args, events.STUDY_DELETED, action="D", study_uid=args.study_uid, detail={"command": "delete"})
    print(f"deleted study {args.study_uid}")
    return 0
