"""`telerad` command line: argument parsing and dispatch (subcommands import lazily)."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Optional, Sequence

from app import __version__

# subcommand -> (module, help)
COMMANDS = {
    "run": ("app.cli.cmd_run", "open the workstation window (default)"),
    "import": ("app.cli.cmd_import", "import files, folders, ZIP archives or DICOMDIR media"),
    "studies": ("app.cli.cmd_studies", "list the studies in the local cache"),
    "show": ("app.cli.cmd_show", "render one image (UID or file) to a PNG"),
    "delete": ("app.cli.cmd_delete", "delete a study from the local cache"),
    "purge": ("app.cli.cmd_purge", "apply the retention rule (retention.json): purge what it no longer keeps"),
    "check": ("app.cli.cmd_check", "compare every stored file with the cache index and repair what differs"),
    "nodes": ("app.cli.cmd_nodes", "configure remote DICOM nodes and our own AE title/port"),
    "echo": ("app.cli.cmd_echo", "C-ECHO a configured node"),
    "find": ("app.cli.cmd_find", "query a node (C-FIND or QIDO-RS)"),
    "retrieve": ("app.cli.cmd_retrieve", "retrieve a study from a node into the cache"),
    "listen": ("app.cli.cmd_listen", "run the DICOM Storage SCP"),
    "send": ("app.cli.cmd_send", "send cached studies or files to a node (C-STORE)"),
    "screenshot": ("app.cli.cmd_screenshot", "render a study view (layout, overlays) to a PNG, headless"),
    "worklist": ("app.cli.cmd_worklist", "the reading worklist in reading order (priority, clock, status)"),
    "report": ("app.cli.cmd_report", "write, sign, verify reports (draft, show, critical, sign, addendum, verify)"),
    "outbox": ("app.cli.cmd_outbox", "delivery queue of signed reports: state, send, retry"),
    "ai": ("app.cli.cmd_ai", "a study's AI findings (SR / SEG results): list, accept, reject"),
    "orders": ("app.cli.cmd_orders", "orders received from the RIS (HL7), with their study or awaiting images"),
    "critical": ("app.cli.cmd_critical", "the night's critical results: who was told, how, time from image arrival"),
    "export": ("app.cli.cmd_export", "export a study de-identified (PS3.15 Annex E) to a folder or ZIP"),
    "tat": ("app.cli.cmd_tat", "turnaround dashboard per facility and priority (the group's with --group)"),
    "readers": ("app.cli.cmd_readers", "group reading (--group URL): reader profiles and facilities"),
    "rules": ("app.cli.cmd_rules", "group reading (--group URL): assignment rules (which readers a filter's studies go to)"),
    "review": ("app.cli.cmd_review", "group peer review (--group URL): score sampled colleague reports (RADPEER)"),
    "audit": ("app.cli.cmd_audit", "the local audit log: verify its hash chain, export spool status, flush"),
    "user": ("app.cli.cmd_user", "workstation user accounts (sign-in, report author): add, list, passwd"),
}


# Errors whose message is meant for the user (another process holds the cache, a newer schema...).
USER_ERRORS = {"CacheLockedError", "NotACacheError", "SchemaTooNewError", "WorkstationError", "DiskFullError",
               "GroupError", "AccountError", "PasswordUnavailable", "LockedError", "KeyMissingError", "DecryptError"}


def storage_error(exc: BaseException) -> str | None:
    """A one-line message if ``exc`` (or what caused it) is a full or read-only disk, else None."""
    from app.db.connection import storage_failure

    found = storage_failure(exc)
    if found is None:
        return None
    if isinstance(found, OSError):
        where = f" ({found.filename})" if found.filename else ""
        return f"{found.strerror or found}{where}: free some disk space and try again"
    return f"cannot write the data folder ({found}); is the disk full? free some space and try again"


def build_parser() -> argparse.ArgumentParser:
    """The full parser; each subcommand module adds its own arguments."""
    parser = argparse.ArgumentParser(prog="telerad", description="Telerad Workstation")
    parser.add_argument("--version", action="version", version=f"telerad {__version__}")
    parser.add_argument("--data-dir", metavar="DIR", help="cache and config folder (default: TELERAD_HOME or the user data dir)")
    parser.add_argument("--unlock", metavar="FILE", help="read the password from the first line of FILE instead "
                        "of asking on the terminal (default: TELERAD_PASSWORD_FILE)")
    parser.add_argument("--user", metavar="NAME", help="the account that unlocks an encrypted data folder "
                        "(default: TELERAD_USER, else the only account)")
    parser.add_argument("--group", metavar="URL", default=os.environ.get("TELERAD_GROUP"),
                        help="group reading: the shared PostgreSQL worklist, e.g. postgresql://host/telerad "
                        "(default: TELERAD_GROUP; without it this reader's SQLite worklist is the only one)")
    parser.add_argument("--reader", metavar="NAME", help="the reader's name in the group (default: the user name)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("--selftest", action="store_true", help="open the window, import and render the demo CT "
                        "in a temporary cache, print timings; exit 0 if everything works")
    parser.add_argument("--out", dest="selftest_out", metavar="PNG", help="with --selftest: write the rendered images here")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        sub = subs.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the `telerad` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.selftest:
        from app.ui.selftest import run_selftest

        return run_selftest(args.selftest_out, verbose=args.verbose > 0)
    if args.command is None:
        args = parser.parse_args([*argv, "run"])
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.execute(args) or 0)
    except Exception as exc:  # the cache's own refusals and a full disk get one clear line, not a traceback
        message = str(exc) if any(cls.__name__ in USER_ERRORS for cls in type(exc).__mro__) else storage_error(exc)
        if message is None:
            raise
        print(f"telerad {args.command}: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
