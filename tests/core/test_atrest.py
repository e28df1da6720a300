"""Encryption at rest (issue 16 item 2): the stored-file format, SQLCipher databases, the folder's unlock
rules and the CLI. The whole-session acceptance (import, view, report, deliver: 0 bytes of PHI) is in
test_atrest_session.py."""

from __future__ import annotations

import io
import os
import sqlite3
from pathlib import Path

import pytest

from app.cli.main import main
from app.crypto import DataKeys, KeyMissingError, open_stored, read_stored, register, seal_for, unregister
from app.crypto.filecrypt import (CHUNK, HEADER, DecryptError, EncryptedReader, decrypt_bytes, encrypt_bytes,
                                  sealed_size, write_encrypted_pieces)
from app.crypto.marker import write_marker
from app.db import open_database

PASSWORD = "correct horse battery"


@pytest.fixture
def keys() -> DataKeys:
    return DataKeys.from_master(os.urandom(32))


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17])
def test_file_round_trip_and_seek(keys: DataKeys, size: int) -> None:
    data = os.urandom(size)
    sealed = encrypt_bytes(keys.file_wrap, data)
    assert len(sealed) == sealed_size(size) and (size < 16 or data[:16] not in sealed)
    assert decrypt_bytes(keys.file_wrap, sealed) == data
    reader = EncryptedReader(io.BytesIO(sealed), keys.file_wrap)
    reader.seek(size // 3)
    assert reader.read(CHUNK + 5) == data[size // 3:size // 3 + CHUNK + 5]
    assert reader.seek(0, io.SEEK_END) == size and reader.read(1) == b""


@pytest.mark.parametrize("cuts", [[], [0], [5], [CHUNK], [CHUNK - 3, CHUNK + 4], [1, 2, 3 * CHUNK], [3 * CHUNK + 17]])
def test_pieces_are_sealed_as_their_join(keys: DataKeys, cuts: list[int]) -> None:
    data = os.urandom(3 * CHUNK + 17)
    bounds = [0, *cuts, len(data)]
    pieces = [memoryview(data)[a:b] for a, b in zip(bounds, bounds[1:])]
    out = io.BytesIO()
    write_encrypted_pieces(out, keys.file_wrap, pieces)
    sealed = out.getvalue()
    assert len(sealed) == sealed_size(len(data)) and decrypt_bytes(keys.file_wrap, sealed) == data
    empty = io.BytesIO()
    write_encrypted_pieces(empty, keys.file_wrap, [b"", b""])
    assert decrypt_bytes(keys.file_wrap, empty.getvalue()) == b""


def test_tampering_truncation_and_wrong_key_fail_cleanly(keys: DataKeys) -> None:
    data = os.urandom(2 * CHUNK + 100)
    sealed = bytearray(encrypt_bytes(keys.file_wrap, data))
    other = DataKeys.from_master(os.urandom(32))
    with pytest.raises(DecryptError, match="wrong key"):
        decrypt_bytes(other.file_wrap, bytes(sealed))
    with pytest.raises(DecryptError, match="truncated"):
        decrypt_bytes(keys.file_wrap, bytes(sealed[:-1]))
    flipped = bytearray(sealed)
    flipped[HEADER + CHUNK + 20] ^= 1
    with pytest.raises(DecryptError, match="damaged"):
        decrypt_bytes(keys.file_wrap, bytes(flipped))
    reader = EncryptedReader(io.BytesIO(bytes(flipped)), keys.file_wrap)
    assert reader.read(100) == data[:100]  # chunk 0 is intact: a seekable read decrypts only what it touches
    with pytest.raises(DecryptError):
        reader.read()
    chunk_cut = bytes(sealed[:HEADER + CHUNK + 16])  # whole chunks, the last one missing: still detected
    with pytest.raises(DecryptError):
        decrypt_bytes(keys.file_wrap, chunk_cut)


def test_registry_reads_both_and_refuses_when_locked(tmp_path: Path, keys: DataKeys) -> None:
    home = tmp_path / "home"
    (home / "cache").mkdir(parents=True)
    plain = home / "cache" / "plain.bin"
    plain.write_bytes(b"PLAINTEXT-OLD")
    register(home, keys)
    try:
        sealed = home / "cache" / "sealed.bin"
        sealed.write_bytes(seal_for(sealed, b"SECRET-PATIENT" * 1000))
        assert b"SECRET-PATIENT" not in sealed.read_bytes()
        assert read_stored(sealed) == b"SECRET-PATIENT" * 1000 and read_stored(plain) == b"PLAINTEXT-OLD"
        with open_stored(sealed) as fh:
            fh.seek(14)
            assert fh.read(14) == b"SECRET-PATIENT"
        outside = tmp_path / "export.bin"
        assert seal_for(outside, b"x") == b"x"  # outside the data folder nothing is sealed
    finally:
        unregister(home)
    with pytest.raises(KeyMissingError, match="sign in"):
        read_stored(sealed)


def _make_db(path: Path) -> None:
    db = open_database(path, [lambda d: d.execute("CREATE TABLE t (name TEXT)")], label="test")
    db.execute("INSERT INTO t VALUES ('Mnbvcxz^Patient')")
    db.conn.close()


def test_plaintext_database_is_converted_and_locked_without_key(tmp_path: Path, keys: DataKeys) -> None:
    home = tmp_path / "home"
    path = home / "worklist.sqlite"
    _make_db(path)
    assert b"Mnbvcxz" in path.read_bytes()
    register(home, keys)
    write_marker(home, keys.check)
    try:
        db = open_database(path, [lambda d: d.execute("CREATE TABLE t (name TEXT)")], label="test")
        assert db.execute("SELECT name FROM t").fetchall() == [("Mnbvcxz^Patient",)]
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1  # the schema version survived the export
        db.execute("INSERT INTO t VALUES ('Second^Patient')")
        db.conn.close()
    finally:
        unregister(home)
    assert not any(b"Patient" in p.read_bytes() for p in home.iterdir() if p.is_file())
    with pytest.raises(KeyMissingError, match="locked"):
        open_database(path, None, label="worklist")
    register(home, DataKeys.from_master(os.urandom(32)))  # a stolen folder tried with another key
    try:
        with pytest.raises(KeyMissingError, match="does not belong"):
            open_database(path, None, label="worklist")
    finally:
        unregister(home)
    with pytest.raises(sqlite3.DatabaseError):  # and plain SQLite sees no database at all
        sqlite3.connect(path).execute("SELECT * FROM t").fetchall()


def test_spool_patient_ids_are_sealed(tmp_path: Path, keys: DataKeys) -> None:
    from app.audit import AuditLog
    from app.audit.spool import claim, erase_patient

    home = tmp_path / "home"
    log = AuditLog(home / "audit.sqlite")
    log.spooling = True
    register(home, keys)
    try:
        log.record("110110", action="R", patient_id="PHID-SEALED-1", study_uid="1.2.3")
        log.record("110110", action="R", patient_id="PHID-SEALED-2", study_uid="1.2.4")
        assert [p.patient_id for p in claim(log, "test")] == ["PHID-SEALED-1", "PHID-SEALED-2"]
        assert erase_patient(log, "PHID-SEALED-1") == 1
        assert [p.patient_id for p in claim(log, "test")] == [None, "PHID-SEALED-2"]
    finally:
        unregister(home)
        log.close()
    assert not any(b"PHID-SEALED" in p.read_bytes() for p in home.iterdir() if p.is_file())


@pytest.fixture
def encrypted_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TELERAD_PLAINTEXT", raising=False)
    monkeypatch.delenv("TELERAD_PASSWORD_FILE", raising=False)
    good, bad = tmp_path / "pw", tmp_path / "bad"
    good.write_text(PASSWORD + "\n")
    bad.write_text("not the password\n")
    return tmp_path / "home", good, bad


def test_cli_refuses_a_new_folder_without_account(encrypted_cli, shared_data: Path,  # type: ignore[no-untyped-def]
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    home, _good, _bad = encrypted_cli
    assert main(["--data-dir", str(home), "import", str(shared_data / "ct" / "single" / "CT_small.dcm")]) == 1
    assert "telerad user add" in capsys.readouterr().err
    assert not (home / "cache").exists()  # nothing was stored in plaintext


def test_cli_encrypted_folder_unlock_and_wrong_password(encrypted_cli, shared_data: Path,  # type: ignore[no-untyped-def]
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    home, good, bad = encrypted_cli
    assert main(["--data-dir", str(home), "user", "add", "alice", "--new-password-file", str(good)]) == 0
    assert main(["--data-dir", str(home), "--unlock", str(good), "import",
                 str(shared_data / "ct" / "single" / "CT_small.dcm")]) == 0
    capsys.readouterr()
    assert main(["--data-dir", str(home), "--unlock", str(good), "studies", "--json"]) == 0
    listed = capsys.readouterr().out
    assert "CompressedSamples^CT1" in listed or "CT1" in listed
    assert main(["--data-dir", str(home), "--unlock", str(bad), "studies"]) == 1
    err = capsys.readouterr().err
    assert "wrong user name or password" in err and "Traceback" not in err
    needle = b"CompressedSamples"
    assert not [p for p in home.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_plaintext_folder_is_encrypted_by_its_first_account(tmp_path: Path, shared_data: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from app.workstation import Workstation

    home = tmp_path / "home"
    with Workstation.open(home, user="reader") as ws:  # plaintext mode (tests): no account yet
        ws.import_paths([shared_data / "ct" / "single" / "CT_small.dcm"])
    needle = b"CompressedSamples"
    assert [p for p in home.rglob("*") if p.is_file() and needle in p.read_bytes()]
    monkeypatch.delenv("TELERAD_PLAINTEXT")
    with Workstation.open(home, user="reader") as ws:
        from app.workstation import security

        security.add_user(ws, "alice", PASSWORD)
        assert len(ws.cache.list_studies()) == 1  # the index, converted when it opened
        assert ws.encrypt_remaining() >= 1
        assert ws.encrypt_remaining() == 0
    assert not [p for p in home.rglob("*") if p.is_file() and needle in p.read_bytes()]
    with Workstation.open(home, user="reader") as ws:
        from app.workstation.atrest import LockedError

        with pytest.raises(LockedError, match="sign in"):
            ws.cache
        ws.sign_in("alice", PASSWORD)
        study = ws.cache.list_studies()[0]
        assert "CompressedSamples" in str(study.patient_name)
