"""User accounts (issue 16 item 1): Argon2id verifier, per-user wrapped master key, rate limit, audit, CLI."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from app.audit import events
from app.audit.message import Source, to_xml
from app.cli.main import main
from app.config import resolve_paths
from app.security import AccountError, AccountStore, AuthenticationError, RateLimitedError, accounts_path
from app.security.accounts import delay_after
from app.security.kdf import KdfParams

CHEAP = KdfParams(memory_kib=8 * 1024, iterations=1)  # store tests: the same code, a lower cost
from app.workstation import Workstation

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "dicom-audit-message.rng"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_unlock_returns_the_master_key_and_every_account_wraps_the_same_one(tmp_path: Path) -> None:
    with AccountStore(tmp_path / "accounts.sqlite", kdf=CHEAP) as store:
        alice = store.add("alice", "correct horse", "Dr Alice")
        assert len(alice.master_key) == 32 and "master_key" not in repr(alice)
        assert store.unlock("alice", "correct horse").master_key == alice.master_key
        with pytest.raises(AccountError, match="existing user"):
            store.add("bob", "battery staple")
        with pytest.raises(AccountError, match="does not belong"):
            store.add("bob", "battery staple", master_key=os.urandom(32))
        store.add("bob", "battery staple", master_key=alice.master_key)
        assert store.unlock("bob", "battery staple").master_key == alice.master_key
        with pytest.raises(AccountError, match="at least 8"):
            store.add("carol", "short", master_key=alice.master_key)
        with pytest.raises(AuthenticationError):
            store.unlock("nobody", "correct horse")
        # a wrapped key copied onto another account does not unwrap (the name is authenticated data)
        row = store.db.execute("SELECT salt, verifier, wrap_nonce, wrapped_key, kdf FROM accounts "
                               "WHERE name = 'alice'").fetchone()
        store.db.execute("UPDATE accounts SET salt = ?, verifier = ?, wrap_nonce = ?, wrapped_key = ?, kdf = ? "
                         "WHERE name = 'bob'", list(row))
        with pytest.raises(AccountError, match="damaged"):
            store.unlock("bob", "correct horse")
        store.change_password("alice", "correct horse", "new password 1")
        with pytest.raises(AuthenticationError):
            store.unlock("alice", "correct horse")
        assert store.unlock("alice", "new password 1").master_key == alice.master_key
    raw = (tmp_path / "accounts.sqlite").read_bytes()
    assert b"correct horse" not in raw and alice.master_key not in raw
    assert stat.S_IMODE((tmp_path / "accounts.sqlite").stat().st_mode) == 0o600


def test_failed_attempts_are_rate_limited_exponentially_after_three(tmp_path: Path) -> None:
    clock = FakeClock()
    with AccountStore(tmp_path / "accounts.sqlite", clock=clock, kdf=CHEAP) as store:
        store.add("alice", "correct horse")
        for _ in range(3):
            with pytest.raises(AuthenticationError):
                store.unlock("alice", "wrong one!")
        with pytest.raises(RateLimitedError) as refused:  # the right password is not even tried
            store.unlock("alice", "correct horse")
        assert refused.value.wait_s == pytest.approx(delay_after(3)) and delay_after(3) > 0
        clock.now += delay_after(3) + 0.1
        with pytest.raises(AuthenticationError):
            store.unlock("alice", "wrong one!")
        assert store.wait_s("alice") == pytest.approx(2 * delay_after(3))
        clock.now += store.wait_s("alice") + 0.1
        assert store.unlock("alice", "correct horse").user == "alice"
        assert store.wait_s("alice") == 0 and store.accounts()[0].failures == 0
    assert [delay_after(n) for n in range(6)] == [0, 0, 0, 2, 4, 8]


def test_sign_in_lock_and_failures_are_audited_as_valid_a51_messages(tmp_path: Path) -> None:
    from lxml import etree

    schema = etree.RelaxNG(etree.parse(str(SCHEMA)))
    with Workstation(resolve_paths(str(tmp_path))) as ws:
        assert not ws.sign_in_required()  # no accounts: lone-reader mode
        from app.workstation import security

        security.add_user(ws, "alice", "correct horse", "Dr Alice")
        assert ws.sign_in_required()
        with pytest.raises(AuthenticationError):
            ws.sign_in("alice", "wrong one!")
        assert ws.session is None
        ws.sign_in("alice", "correct horse")
        assert (ws.session.user, ws.user) == ("alice", "alice")
        security.locked(ws, "idle")
        bob = security.add_user(ws, "bob", "battery staple", by=ws.session)
        assert bob.master_key == ws.session.master_key
        ws.sign_in("bob", "battery staple")  # ends alice's session
        assert ws.user == "bob"
    from app.audit import AuditLog

    with AuditLog(tmp_path / "audit.sqlite") as log:
        records = log.records()
    ws_records = [(r.event_id, r.event_type, r.outcome, r.user, json.loads(r.detail).get("what")) for r in records
                  if r.event_id in (events.USER_AUTHENTICATION.code, events.SECURITY_ALERT.code)]
    assert ws_records == [
        ("110113", "110129", 0, "alice", "user account created"),
        ("110114", "110122", 4, "alice", "sign-in"),
        ("110114", "110122", 0, "alice", "sign-in"),
        ("110114", "110123", 0, "alice", "screen locked (idle)"),
        ("110113", "110129", 0, "alice", "user account created"),
        ("110114", "110122", 0, "bob", "sign-in"),
        ("110114", "110123", 0, "alice", "session ended by the sign-in of bob"),
        ("110114", "110123", 0, "bob", "application closed"),
    ]
    source = Source("telerad@test", "SITE")
    for rec in records:
        xml = to_xml(rec, source)
        assert schema.validate(etree.fromstring(xml)), (rec.event_name, schema.error_log.last_error)
    failed = next(r for r in records if r.outcome == 4)
    assert b"EventOutcomeDescription>wrong user name or password<" in to_xml(failed, source)


def test_cli_user_add_list_passwd(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    first, second = tmp_path / "pw1", tmp_path / "pw2"
    first.write_text("correct horse\n")
    second.write_text("battery staple\n")
    assert main(["--data-dir", str(home), "user", "list"]) == 0
    assert "no accounts" in capsys.readouterr().out
    assert main(["--data-dir", str(home), "--unlock", str(first), "user", "add", "alice",
                 "--display-name", "Dr Alice Example"]) == 0
    assert main(["--data-dir", str(home), "--unlock", str(second), "user", "add", "bob",
                 "--new-password-file", str(second)]) == 2  # alice's password is wrong
    assert "wrong user name or password" in capsys.readouterr().err
    monkeypatch.setenv("TELERAD_PASSWORD_FILE", str(first))
    assert main(["--data-dir", str(home), "user", "add", "bob", "--new-password-file", str(second)]) == 0
    capsys.readouterr()
    assert main(["--data-dir", str(home), "user", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(u["name"], u["display_name"]) for u in listed] == [("alice", "Dr Alice Example"), ("bob", "bob")]
    assert main(["--data-dir", str(home), "--unlock", str(second), "user", "passwd", "bob",
                 "--new-password-file", str(first)]) == 0
    monkeypatch.delenv("TELERAD_PASSWORD_FILE")
    assert main(["--data-dir", str(home), "user", "passwd", "bob"]) == 2  # no terminal, no file: a clear line
    assert "no terminal" in capsys.readouterr().err
    with AccountStore(accounts_path(home)) as store:
        assert store.unlock("bob", "correct horse").user == "bob"
    assert stat.S_IMODE(accounts_path(home).stat().st_mode) == 0o600


def test_security_settings_defaults_and_errors_name_the_file_and_key(tmp_path: Path) -> None:
    from app.security import SecuritySettings, load_security_settings, save_security_settings
    from app.settings import SettingsError

    assert load_security_settings(tmp_path) == SecuritySettings(False, 10.0)
    assert load_security_settings(tmp_path).lock_after_ms == 600_000
    save_security_settings(tmp_path, SecuritySettings(True, 2))
    assert load_security_settings(tmp_path) == SecuritySettings(True, 2)
    (tmp_path / "security.json").write_text('{"lock_after_minutes": "soon"}')
    with pytest.raises(SettingsError, match="security.json: lock_after_minutes"):
        load_security_settings(tmp_path)
    (tmp_path / "security.json").write_text('{"require_signin": true}')
    with pytest.raises(SettingsError, match=r"unknown key require_signin \(known"):
        load_security_settings(tmp_path)
    with Workstation(resolve_paths(str(tmp_path / "home"))) as ws:
        save_security_settings(ws.paths.config_dir, SecuritySettings(require_sign_in=True))
        assert ws.sign_in_required() and not ws.accounts.any()  # the site forbids the lone-reader mode
