"""The account store: ``accounts.sqlite`` in the data dir (owner-only, opened through ``app.db``).

It holds no PHI and stays readable without the master key (it is where the wrapped copies live)."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import sqlite_utils

from app.clock import utc_iso
from app.db import SchemaTooNewError, open_database, transaction
from app.security import keywrap
from app.security.kdf import KdfParams, derive, same
from app.security.session import Session

FILE_NAME = "accounts.sqlite"
FREE_FAILURES = 3  # failed attempts in a row before each further attempt waits
BASE_DELAY_S = 2.0  # wait after the 3rd failure; doubles with each further one
MAX_DELAY_S = 600.0
MIN_PASSWORD = 8
SALT_BYTES = 16
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class AccountError(RuntimeError):
    """An account operation refused (a message meant for the user)."""


class AuthenticationError(AccountError):
    """Wrong user name or password (deliberately the same message for both)."""


class RateLimitedError(AccountError):
    """Too many failed attempts: the next one is accepted only after ``wait_s`` seconds."""

    def __init__(self, user: str, wait_s: float) -> None:
        self.user, self.wait_s = user, wait_s
        super().__init__(f"too many failed sign-in attempts for {user}: try again in {max(1, round(wait_s))} s")


class AccountsSchemaError(SchemaTooNewError):
    pass


@dataclass(frozen=True)
class Account:
    """One account as listed (no secret in it)."""

    name: str
    display_name: str
    created: str
    last_sign_in: str
    failures: int


def accounts_path(home: Path) -> Path:
    return Path(home) / FILE_NAME


def _v1(db: sqlite_utils.Database) -> None:
    db.execute("""CREATE TABLE accounts (
        name TEXT PRIMARY KEY, display_name TEXT NOT NULL, created TEXT NOT NULL, kdf TEXT NOT NULL,
        salt BLOB NOT NULL, verifier BLOB NOT NULL, wrap_nonce BLOB NOT NULL, wrapped_key BLOB NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0, retry_after REAL NOT NULL DEFAULT 0, last_sign_in TEXT NOT NULL DEFAULT '')""")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


MIGRATIONS = [_v1]


def delay_after(failures: int) -> float:
    """Seconds the next attempt waits after ``failures`` failed ones in a row (0 for the first three)."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(BASE_DELAY_S * 2 ** (failures - FREE_FAILURES), MAX_DELAY_S)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")


class AccountStore:
    """Accounts of one data dir. Thread-safe; ``clock`` (epoch seconds) drives the rate limit (tests)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time, kdf: Optional[KdfParams] = None) -> None:
        self.path, self.clock, self.kdf = Path(path), clock, kdf or KdfParams()
        self._lock = threading.Lock()
        self.db = open_database(self.path, MIGRATIONS, label="accounts", too_new=AccountsSchemaError, encrypt=False)

    def close(self) -> None:
        with self._lock:
            self.db.conn.close()

    def __enter__(self) -> "AccountStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- listing ---------------------------------------------------------------------------
    def accounts(self) -> list[Account]:
        with self._lock:
            rows = self.db.execute("SELECT name, display_name, created, last_sign_in, failures FROM accounts "
                                   "ORDER BY name").fetchall()
        return [Account(*row) for row in rows]

    def names(self) -> list[str]:
        return [a.name for a in self.accounts()]

    def any(self) -> bool:
        with self._lock:
            return self.db.execute("SELECT 1 FROM accounts LIMIT 1").fetchone() is not None

    def _row(self, name: str) -> Optional[dict]:
        with self._lock:
            cursor = self.db.execute("SELECT * FROM accounts WHERE name = ?", [name])
            row = cursor.fetchone()
            return dict(zip([c[0] for c in cursor.description], row)) if row else None

    # -- changes ---------------------------------------------------------------------------
    def add(self, name: str, password: str, display_name: str = "", *, master_key: Optional[bytes] = None) -> Session:
        """Create an account; the first one draws the data dir's master key, later ones need it (from the
        session of a signed-in user). Returns the new user's session."""
        if not NAME.match(name):
            raise AccountError("a user name is 1-64 letters, digits, '.', '_', '@' or '-' (starting with a letter or digit)")
        check_password(password)
        first = not self.any()
        if first:
            master_key = master_key or keywrap.new_master_key()
        elif master_key is None:
            raise AccountError("adding a user needs the sign-in of an existing user")
        elif not same(keywrap.key_check(master_key).encode(), self._key_check().encode()):
            raise AccountError("that key does not belong to this data folder")
        if self._row(name) is not None:
            raise AccountError(f"user {name} already exists")
        fields = self._secret_fields(name, password, master_key)
        with self._lock, transaction(self.db):
            self.db.execute("INSERT INTO accounts (name, display_name, created, kdf, salt, verifier, wrap_nonce, "
                            "wrapped_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            [name, display_name or name, utc_iso(), *fields.values()])
            if first:
                self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('key_check', ?)",
                                [keywrap.key_check(master_key)])
        return Session(name, display_name or name, master_key, utc_iso())

    def change_password(self, name: str, old: str, new: str) -> Session:
        """New password (old one checked, rate-limited like a sign-in); the master key is rewrapped."""
        check_password(new)
        session = self.unlock(name, old)
        fields = self._secret_fields(name, new, session.master_key)
        with self._lock, transaction(self.db):
            self.db.execute("UPDATE accounts SET kdf = ?, salt = ?, verifier = ?, wrap_nonce = ?, wrapped_key = ? "
                            "WHERE name = ?", [*fields.values(), name])
        return session

    def _secret_fields(self, name: str, password: str, master_key: bytes) -> dict:
        salt = os.urandom(SALT_BYTES)
        verifier, kek = derive(password, salt, self.kdf)
        nonce, wrapped = keywrap.wrap(kek, master_key, name)
        return {"kdf": json.dumps(self.kdf.to_json()), "salt": salt, "verifier": verifier, "wrap_nonce": nonce,
                "wrapped_key": wrapped}

    def _key_check(self) -> str:
        with self._lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'key_check'").fetchone()
        return row[0] if row else ""

    # -- sign-in ---------------------------------------------------------------------------
    def wait_s(self, name: str) -> float:
        """Seconds before ``name`` may try again (0: now)."""
        row = self._row(name)
        return max(0.0, row["retry_after"] - self.clock()) if row else 0.0

    def unlock(self, name: str, password: str) -> Session:
        """The session of ``name`` (the master key unwrapped) if ``password`` is right; AuthenticationError
        otherwise, RateLimitedError (password not even tried) while the delay after failures runs."""
        row = self._row(name)
        if row is None:
            derive(password, b"\0" * SALT_BYTES, self.kdf)  # the same time as a known name
            raise AuthenticationError("wrong user name or password")
        now = self.clock()
        if row["retry_after"] > now:
            raise RateLimitedError(name, row["retry_after"] - now)
        verifier, kek = derive(password, row["salt"], KdfParams.from_json(json.loads(row["kdf"])))
        if not same(verifier, row["verifier"]):
            self._failed(name)
            raise AuthenticationError("wrong user name or password")
        from cryptography.exceptions import InvalidTag

        try:
            master_key = keywrap.unwrap(kek, row["wrap_nonce"], row["wrapped_key"], name)
        except InvalidTag:
            raise AccountError(f"the key record of {name} is damaged") from None
        signed_in = utc_iso()
        with self._lock, transaction(self.db):
            self.db.execute("UPDATE accounts SET failures = 0, retry_after = 0, last_sign_in = ? WHERE name = ?",
                            [signed_in, name])
        return Session(name, row["display_name"], master_key, signed_in)

    def _failed(self, name: str) -> None:
        with self._lock, transaction(self.db):
            failures = self.db.execute("SELECT failures FROM accounts WHERE name = ?", [name]).fetchone()[0] + 1
            self.db.execute("UPDATE accounts SET failures = ?, retry_after = ? WHERE name = ?",
                            [failures, self.clock() + delay_after(failures), name])
