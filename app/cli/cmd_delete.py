"""`telerad delete STUDY_UID`: remove a study's rows and files from the cache."""

from __future__ import annotations

import argparse
import sys

from app.cli.context import open_cache


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study_uid", metavar="STUDY_UID")


def execute(args: argparse.Namespace) -> int:
    cache = open_cache(args)
    try:
        known = {s.study_instance_uid for s in cache.list_studies()}
        if args.study_uid not in known:
            print(f"telerad delete: no study {args.study_uid} in the cache", file=sys.stderr)
            return 1
        cache.delete_study(args.study_uid)
    finally:
        cache.close()
    print(f"deleted study {args.study_uid}")
    return 0
