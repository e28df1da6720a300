"""Shared plumbing for subcommands: the workstation of the global ``--data-dir``, node lookup, arguments.

Commands call the use cases of :class:`app.workstation.Workstation`; they parse, print and pick exit codes."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from app.config import Paths, resolve_paths, user_name

if TYPE_CHECKING:
    from app.network.nodes import Node, NodeConfig
    from app.security import Session
    from app.workstation import Workstation


def paths(args: argparse.Namespace) -> Paths:
    """Resolved data locations for this invocation."""
    return resolve_paths(args.data_dir)


def node_arg(args: argparse.Namespace) -> "tuple[NodeConfig, Node]":
    """The node configuration and the node named by ``args.node`` (NodeError if unknown or unreadable)."""
    from app.network.nodes import load

    cfg = load(paths(args).config_dir)
    return cfg, cfg.get(args.node)


def workstation(args: argparse.Namespace) -> "Workstation":
    """The workstation of this invocation's data dir (use it as a context manager: it closes its services)."""
    from app.workstation import Workstation

    ws = Workstation(paths(args), getattr(args, "reader", None) or user_name())
    ws.group_url = getattr(args, "group", None)  # --group: the shared worklist (app.workstation.group)
    ws.unlocker = lambda: unlock(ws, args)  # an encrypted folder asks for the password on first use
    return ws


USER_ENV = "TELERAD_USER"


def unlock(ws: "Workstation", args: argparse.Namespace) -> "Session":
    """The session that unlocks an encrypted data folder: the user of ``--user`` (else TELERAD_USER, else
    the only account, else the account named like the login), the password from ``--unlock F`` or asked."""
    from app.workstation import security

    name = unlocking_user(ws, args)
    password = read_password(f"Password for {name}: ", password_file(args))
    return security.authenticate(ws, name, password, "command-line unlock")


def unlocking_user(ws: "Workstation", args: argparse.Namespace) -> str:
    """``--user``, else TELERAD_USER, else the only account, else the account named like the login."""
    import os

    from app.workstation.atrest import LockedError

    names = ws.accounts.names()
    name = getattr(args, "user", None) or os.environ.get(USER_ENV)
    if not name:
        name = names[0] if len(names) == 1 else (user_name() if user_name() in names else "")
    if not name:
        raise LockedError(f"the data folder is encrypted: say which user unlocks it with --user NAME "
                          f"({', '.join(names)})")
    return name


def unknown_node(ws: "Workstation", name: str, command: str) -> bool:
    """True, after a one-line message, when ``name`` is not a configured node (or nodes.json is invalid)."""
    import sys

    from app.network.nodes import NodeError

    try:
        ws.nodes().get(name)
    except NodeError as exc:
        print(f"telerad {command}: {exc}", file=sys.stderr)
        return True
    return False


def window_arg(text: str) -> tuple[float, float]:
    """argparse type of ``--window C,W`` (centre, positive width)."""
    try:
        centre, width = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected CENTRE,WIDTH, e.g. 40,80") from None
    if width <= 0:
        raise argparse.ArgumentTypeError("window width must be positive")
    return centre, width


PASSWORD_FILE_ENV = "TELERAD_PASSWORD_FILE"


class PasswordUnavailable(RuntimeError):
    """No terminal to ask on and no password file given."""


def password_file(args: argparse.Namespace) -> "str | None":
    """The file of the global ``--unlock F``, else ``TELERAD_PASSWORD_FILE`` (None: ask on the terminal)."""
    import os

    return getattr(args, "unlock", None) or os.environ.get(PASSWORD_FILE_ENV) or None


def read_password(prompt: str, file: "str | None" = None, *, confirm: bool = False) -> str:
    """The first line of ``file``, else asked on the terminal (twice with ``confirm``; no echo)."""
    import getpass
    import sys
    from pathlib import Path

    if file:
        try:
            return Path(file).read_text(encoding="utf-8").splitlines()[0] if Path(file).stat().st_size else ""
        except (OSError, UnicodeDecodeError) as exc:
            raise PasswordUnavailable(f"cannot read the password file {file}: {exc}") from None
    if not sys.stdin.isatty():
        raise PasswordUnavailable(f"no terminal to ask for the password: give --unlock FILE or {PASSWORD_FILE_ENV}")
    password = getpass.getpass(prompt)
    if confirm and getpass.getpass("Again: ") != password:
        raise PasswordUnavailable("the two passwords differ")
    return password
