"""Workstation user accounts (Qt-free): one account per radiologist, a password verifier (Argon2id, per-user
salt, constant-time compare) and a per-user wrapped copy of the data dir's 256-bit master key (AES-256-GCM
under a key derived from the password), so that signing in yields the key that unlocks encryption at rest.

:class:`AccountStore` keeps the accounts in ``<data dir>/accounts.sqlite`` (owner-only, through ``app.db``);
:meth:`AccountStore.unlock` returns a :class:`Session` holding the master key in memory. Failed attempts
are counted per account and rate-limited (exponential delay after :data:`FREE_FAILURES` failures)."""

from app.security.accounts import (
    FREE_FAILURES, Account, AccountError, AccountStore, AuthenticationError, RateLimitedError, accounts_path,
)
from app.security.session import Session
from app.security.settings import SecuritySettings, load_security_settings, save_security_settings

__all__ = [
    "FREE_FAILURES", "Account", "AccountError", "AccountStore", "AuthenticationError", "RateLimitedError",
    "SecuritySettings", "Session", "accounts_path", "load_security_settings", "save_security_settings",
]
