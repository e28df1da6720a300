"""`telerad run`: open the workstation window."""

from __future__ import annotations

import argparse

from app.cli.context import password_file, paths, read_password, unlocking_user, user_name


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-demo", action="store_true", help="do not import the demo studies on first run")
    parser.add_argument("--open", metavar="STUDY_UID", dest="open_study",
                        help="open this study (with its priors and hanging protocol) in reading mode, as a RIS does")
    parser.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)


def execute(args: argparse.Namespace) -> int:
    from app.ui.app import run_gui

    quit_ms = int(args.quit_after * 1000) if args.quit_after else None
    return run_gui(paths(args), getattr(args, "reader", None) or user_name(), demo=not args.no_demo,
                   quit_after_ms=quit_ms, open_study=args.open_study, sign_in=_scripted_sign_in(args),
                   group_url=getattr(args, "group", None))


def _scripted_sign_in(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """With ``--unlock F`` (or TELERAD_PASSWORD_FILE): sign in with that password instead of the dialog
    (scripts, benchmarks, a RIS launching the reading workstation)."""
    file = password_file(args)
    if not file:
        return None

    def sign_in(ws) -> None:  # type: ignore[no-untyped-def]
        ws.sign_in(unlocking_user(ws, args), read_password("", file))

    return sign_in
