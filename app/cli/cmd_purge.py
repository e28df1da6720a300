"""`telerad purge [--dry-run] [--now ISO]`: apply the site's retention rule (config/retention.json) to every
study; print what was purged and what was kept, each with the rule's reason."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from app.cli.context import workstation


def _instant(text: str) -> datetime:
    from app.clock import parse_iso

    try:
        return parse_iso(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date/time: {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="say what would be purged; remove nothing")
    parser.add_argument("--now", type=_instant, metavar="ISO", help="apply the rule as of this instant "
                        "(default: now), e.g. 2027-01-31T00:00Z")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def execute(args: argparse.Namespace) -> int:
    from app.settings import SettingsError

    with workstation(args) as ws:
        try:
            result = ws.purge(now=args.now, dry_run=args.dry_run)
        except SettingsError as exc:
            print(f"telerad purge: {exc}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps({"now": result.now.isoformat(), "dry_run": result.dry_run,
                          "purged": [{"study_uid": i.study_uid, "images": i.decision.images,
                                      "reports": i.decision.reports, "why": i.decision.why} for i in result.purged],
                          "kept": [{"study_uid": i.study_uid, "why": i.decision.why} for i in result.kept],
                          "failed": [{"study_uid": u, "error": e} for u, e in result.failed]}, indent=2))
    else:
        verb = "would purge" if result.dry_run else "purged"
        for item in result.purged:
            print(f"{verb} {item.study_uid}: {item.decision.why}")
        for item in result.kept:
            print(f"kept {item.study_uid}: {item.decision.why.removeprefix('kept: ')}")
        for uid, error in result.failed:
            print(f"failed {uid}: {error}", file=sys.stderr)
        print(f"{len(result.purged)} {verb}, {len(result.kept)} kept" + (" (dry run)" if result.dry_run else "")
              + f" as of {result.now.isoformat(timespec='seconds')}")
    return 1 if result.failed else 0
