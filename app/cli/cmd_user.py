"""`telerad user add|list|passwd`: the workstation's user accounts (sign-in, lock, report author).

Passwords are asked on the terminal (no echo), or read from the file of the global ``--unlock F`` (or
``TELERAD_PASSWORD_FILE``): the password that unlocks the data dir (the first account's own password, or
that of the existing user who adds a colleague or changes their own password). A new password for an
existing data dir comes from ``--new-password-file F`` or the terminal."""

from __future__ import annotations

import argparse
import json
import sys

from app.cli.context import PasswordUnavailable, password_file, read_password, workstation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="create an account (the first one creates the data folder's key)")
    add.add_argument("name")
    add.add_argument("--display-name", default="", help="the person's name as shown, e.g. 'Dr Alice Example'")
    add.add_argument("--by", metavar="USER", help="the existing user who adds this one (default: the only one)")
    add.add_argument("--new-password-file", metavar="FILE", help="the new account's password (first line)")
    lst = sub.add_parser("list", help="the accounts (no secret shown)")
    lst.add_argument("--json", action="store_true")
    pwd = sub.add_parser("passwd", help="change a user's password (the old one is asked, or read from --unlock)")
    pwd.add_argument("name")
    pwd.add_argument("--new-password-file", metavar="FILE", help="the new password (first line)")


def execute(args: argparse.Namespace) -> int:
    from app.security import AccountError

    with workstation(args) as ws:
        try:
            if args.user_command == "list":
                return _list(ws, args.json)
            if args.user_command == "add":
                return _add(ws, args)
            return _passwd(ws, args)
        except (AccountError, PasswordUnavailable) as exc:
            print(f"telerad user {args.user_command}: {exc}", file=sys.stderr)
            return 2


def _list(ws, as_json: bool) -> int:  # type: ignore[no-untyped-def]
    from dataclasses import asdict

    users = ws.accounts.accounts()
    if as_json:
        print(json.dumps([asdict(u) for u in users], indent=2))
        return 0
    if not users:
        print("no accounts: anyone at the keyboard reads (lone-reader mode); add one with: telerad user add NAME")
    for u in users:
        print(f"{u.name}\t{u.display_name}\tcreated {u.created}\tlast sign-in {u.last_sign_in or 'never'}")
    return 0


def _add(ws, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from app.workstation import security

    by = None
    names = ws.accounts.names()
    if names:
        who = args.by or (names[0] if len(names) == 1 else None)
        if who is None:
            print("telerad user add: give --by USER (an existing user authorises the new account)", file=sys.stderr)
            return 2
        by = security.authenticate(ws, who, read_password(f"Password of {who}: ", password_file(args)), "user add")
        new_file = args.new_password_file
    else:
        new_file = args.new_password_file or password_file(args)
    password = read_password(f"New password for {args.name}: ", new_file, confirm=True)
    security.add_user(ws, args.name, password, args.display_name, by=by)
    print(f"user {args.name} added" + (" (this data folder's first account: sign-in is now required)" if not names
                                       else f" by {by.user}" if by else ""))
    return 0


def _passwd(ws, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from app.workstation import security

    old = read_password(f"Current password of {args.name}: ", password_file(args))
    new = read_password(f"New password for {args.name}: ", args.new_password_file, confirm=True)
    security.change_password(ws, args.name, old, new)
    print(f"password of {args.name} changed")
    return 0
