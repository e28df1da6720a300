"""Sign-in, lock and accounts of a data dir: the use cases on :class:`app.security.AccountStore`, audited
as 110114 User Authentication (EventTypeCode 110122 Login / 110123 Logout; outcome 4 on a failed attempt).

No accounts is the lone-reader mode of tests and scripts (``TELERAD_PLAINTEXT=1``: nothing to sign in to) unless the site's
``security.json`` sets ``require_sign_in``. A lock keeps the session (and its master key: the listener,
retrieves and the outbox keep writing); unlocking needs the signed-in user's password, or the sign-in of
another user, which ends the previous session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from app.security import AccountError, AccountStore, RateLimitedError, Session, accounts_path
from app.workstation import atrest

if TYPE_CHECKING:
    from app.security import Account, SecuritySettings
    from app.workstation.workstation import Workstation

ACCOUNTS = "accounts"


def open_store(ws: "Workstation") -> AccountStore:
    return AccountStore(accounts_path(ws.paths.home))


def settings(ws: "Workstation") -> "SecuritySettings":
    from app.security import load_security_settings

    return load_security_settings(ws.paths.config_dir)


def sign_in_required(ws: "Workstation") -> bool:
    """True when the window must not show data before a sign-in: accounts exist, the site requires one, or
    (outside the plaintext mode of tests) there is no account yet: the first one encrypts the folder."""
    return ws.accounts.any() or settings(ws).require_sign_in or not atrest.plaintext_allowed()


def list_users(ws: "Workstation") -> "list[Account]":
    return ws.accounts.accounts()


def add_user(ws: "Workstation", name: str, password: str, display_name: str = "", *,
             by: Optional[Session] = None) -> Session:
    """Create an account (the first one draws the master key; later ones need ``by``, a signed-in session)."""
    from app.audit import events, record_quietly

    session = ws.accounts.add(name, password, display_name, master_key=by.master_key if by else None)
    if by is None:  # the first account: its key encrypts the folder from now on
        atrest.unlock_data(ws, session)
    record_quietly(ws.audit, events.SECURITY_ALERT, action="C", user=by.user if by else name,
                   event_type=events.SECURITY_CONFIGURATION, detail={"what": "user account created", "account": name})
    return session


def change_password(ws: "Workstation", name: str, old: str, new: str) -> None:
    from app.audit import events, record_quietly

    try:
        ws.accounts.change_password(name, old, new)
    except AccountError as exc:
        _audit_attempt(ws, name, "password change", exc)
        raise
    record_quietly(ws.audit, events.SECURITY_ALERT, action="U", user=name, event_type=events.SECURITY_CONFIGURATION,
                   detail={"what": "password changed", "account": name})


def authenticate(ws: "Workstation", name: str, password: str, what: str = "authentication") -> Session:
    """The session of ``name`` without signing in (a CLI command unlocking the data dir); audited."""
    try:
        session = ws.accounts.unlock(name, password)
    except AccountError as exc:
        _audit_attempt(ws, name, what, exc)
        raise
    atrest.unlock_data(ws, session)
    _audit_login(ws, name, what)
    return session


def sign_in(ws: "Workstation", name: str, password: str) -> Session:
    """Sign ``name`` in (unlocks the master key). Another user's session ends first (audited Logout);
    a failed attempt is audited (outcome 4) and raises AuthenticationError or RateLimitedError."""
    previous = ws.session
    what = "unlock" if previous is not None and previous.user == name else "sign-in"
    session = authenticate(ws, name, password, what)
    if previous is not None and previous.user != name:
        sign_out(ws, f"session ended by the sign-in of {name}")
    ws.session, ws.user = session, name
    network = ws._services.get("network")
    if network is not None:
        network.user = name
    return session


def sign_out(ws: "Workstation", reason: str = "sign-out") -> None:
    """End the session (its master key dropped); audited Logout."""
    from app.audit import events, record_quietly

    session, ws.session = ws.session, None
    if session is not None:
        record_quietly(ws.audit, events.USER_AUTHENTICATION, action="E", user=session.user,
                       event_type=events.LOGOUT, detail={"what": reason})


def locked(ws: "Workstation", why: str) -> None:
    """The screen locked (idle or on demand): audited Logout of the interactive session; the session stays."""
    from app.audit import events, record_quietly

    if ws.session is not None:
        record_quietly(ws.audit, events.USER_AUTHENTICATION, action="E", user=ws.session.user,
                       event_type=events.LOGOUT, detail={"what": f"screen locked ({why})"})


def _audit_login(ws: "Workstation", name: str, what: str) -> None:
    from app.audit import events, record_quietly

    record_quietly(ws.audit, events.USER_AUTHENTICATION, action="E", user=name, event_type=events.LOGIN,
                   detail={"what": what})


def _audit_attempt(ws: "Workstation", name: str, what: str, exc: AccountError) -> None:
    from app.audit import events, record_quietly

    from app.security import AuthenticationError

    reason = ("rate limited" if isinstance(exc, RateLimitedError) else
              "wrong user name or password" if isinstance(exc, AuthenticationError) else str(exc))
    record_quietly(ws.audit, events.USER_AUTHENTICATION, action="E", outcome=events.OUTCOME_MINOR_FAILURE,
                   user=name, event_type=events.LOGIN, detail={"what": what, "reason": reason})
