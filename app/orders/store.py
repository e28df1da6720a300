"""The order store: ``<data dir>/orders.sqlite`` (app.db, FULL sync, ordered migrations), one row per
accession number, the patients' latest demographics and the merges received."""

from __future__ import annotations

import threading
from dataclasses import fields
from pathlib import Path
from typing import Iterable, Sequence

import sqlite_utils

from app.clock import utc_iso
from app.db import SchemaTooNewError, open_database, transaction
from app.orders.model import Merge, MessageError, Order, PatientRef, PatientUpdate, Priority

FILE_NAME = "orders.sqlite"
_TEXT = ("order_control", "placer_number", "filler_number", "study_uid", "procedure_code", "procedure_text",
         "priority", "priority_code", "ordering_physician", "callback", "reason", "history", "patient_name",
         "birth_date", "sex", "status")


def _v1(db: sqlite_utils.Database) -> None:
    columns = ",\n".join(f"{name} TEXT NOT NULL DEFAULT ''" for name in _TEXT)
    db.execute(f"""CREATE TABLE orders (
        id INTEGER PRIMARY KEY, accession TEXT NOT NULL UNIQUE, patient_id TEXT NOT NULL,
        issuer TEXT NOT NULL DEFAULT '', {columns}, control_id TEXT NOT NULL, message_type TEXT NOT NULL,
        received TEXT NOT NULL, updated TEXT NOT NULL)""")
    db.execute("CREATE INDEX idx_orders_patient ON orders(patient_id, issuer)")
    db.execute("CREATE INDEX idx_orders_study ON orders(study_uid)")
    db.execute("""CREATE TABLE patients (
        patient_id TEXT NOT NULL, issuer TEXT NOT NULL DEFAULT '', name TEXT NOT NULL DEFAULT '',
        birth_date TEXT NOT NULL DEFAULT '', sex TEXT NOT NULL DEFAULT '', updated TEXT NOT NULL,
        PRIMARY KEY (patient_id, issuer))""")
    db.execute("""CREATE TABLE merges (
        id INTEGER PRIMARY KEY, prior_id TEXT NOT NULL, prior_issuer TEXT NOT NULL,
        survivor_id TEXT NOT NULL, survivor_issuer TEXT NOT NULL, control_id TEXT NOT NULL, time TEXT NOT NULL)""")
    db.execute("CREATE INDEX idx_merges_prior ON merges(prior_id, prior_issuer)")


MIGRATIONS = (_v1,)  # append; never edit a shipped step


class OrdersSchemaError(SchemaTooNewError):
    """orders.sqlite was written by a newer version of the application."""


def orders_db_path(home: Path) -> Path:
    return Path(home) / FILE_NAME


class OrderStore:
    """Thread-safe repository of the orders received; methods take and return plain values."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self.db = open_database(self.path, MIGRATIONS, label="order store", too_new=OrdersSchemaError)

    def close(self) -> None:
        with self._lock:
            self.db.conn.close()

    # -- writes --------------------------------------------------------------------------------
    def put_orders(self, orders: Sequence[Order], *, control_id: str, message_type: str) -> None:
        """Insert or update the orders (all or none). An accession already ordered for another patient is
        refused (MessageError AE) and nothing changes."""
        now = utc_iso()
        with self._lock, transaction(self.db):
            for order in orders:
                self._put(order, control_id, message_type, now)
                self._put_patient(order.patient, order.patient_name, order.birth_date, order.sex, now)

    def _put(self, order: Order, control_id: str, message_type: str, now: str) -> None:
        row = self.db.execute("SELECT patient_id, issuer FROM orders WHERE accession = ?",
                              [order.accession]).fetchone()
        patient = self._survivor(order.patient)
        known = None if row is None else self._survivor(PatientRef(*row))
        if known is not None and not patient.same(known.patient_id, known.issuer):
            raise MessageError("AE", "207", f"accession {order.accession} is already ordered for another patient")
        values = {name: str(getattr(order, name).value if name == "priority" else getattr(order, name))
                  for name in _TEXT}
        values.update(patient_id=patient.patient_id, issuer=patient.issuer, control_id=control_id,
                      message_type=message_type, updated=now)
        if row is None:
            self.db["orders"].insert({"accession": order.accession, "received": now, **values})
        else:
            sets = ", ".join(f"{k} = :{k}" for k in values)
            self.db.execute(f"UPDATE orders SET {sets} WHERE accession = :accession",
                            {**values, "accession": order.accession})

    def _put_patient(self, ref: PatientRef, name: str, birth: str, sex: str, now: str) -> None:
        self.db.execute(
            """INSERT INTO patients VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (patient_id, issuer) DO UPDATE SET
               name = excluded.name, birth_date = excluded.birth_date, sex = excluded.sex,
               updated = excluded.updated""", [ref.patient_id, ref.issuer, name, birth, sex, now])

    def update_patient(self, update: PatientUpdate) -> int:
        """New demographics for the patient and their orders; the number of orders updated."""
        now, ref = utc_iso(), update.patient
        with self._lock, transaction(self.db):
            self._put_patient(ref, update.name, update.birth_date, update.sex, now)
            cursor = self.db.execute(
                "UPDATE orders SET patient_name = ?, birth_date = ?, sex = ?, updated = ? "
                "WHERE patient_id = ? AND issuer = ?",
                [update.name, update.birth_date, update.sex, now, ref.patient_id, ref.issuer])
            return cursor.rowcount

    def merge(self, merge: Merge, *, control_id: str) -> int:
        """Record the merge and move the prior patient's orders to the survivor; the number moved."""
        now, prior, survivor = utc_iso(), merge.prior, merge.survivor
        with self._lock, transaction(self.db):
            self.db["merges"].insert({"prior_id": prior.patient_id, "prior_issuer": prior.issuer,
                                      "survivor_id": survivor.patient_id, "survivor_issuer": survivor.issuer,
                                      "control_id": control_id, "time": now})
            cursor = self.db.execute(
                "UPDATE orders SET patient_id = ?, issuer = ?, updated = ? WHERE patient_id = ? AND "
                "(issuer = ? OR ? = '' OR issuer = '')",
                [survivor.patient_id, survivor.issuer, now, prior.patient_id, prior.issuer, prior.issuer])
            self.db.execute("DELETE FROM patients WHERE patient_id = ? AND issuer = ?",
                            [prior.patient_id, prior.issuer])
            return cursor.rowcount

    def delete_orders(self, accessions: Iterable[str], study_uid: str = "") -> int:
        """Delete the orders of a study leaving the workstation (by accession, and any naming ``study_uid``);
        the number deleted."""
        wanted = sorted(set(accessions))
        marks = ",".join("?" * len(wanted))
        where = " OR ".join(([f"accession IN ({marks})"] if wanted else []) + (["study_uid = ?"] if study_uid else []))
        if not where:
            return 0
        with self._lock, transaction(self.db):
            return self.db.execute(f"DELETE FROM orders WHERE {where}", [*wanted, *([study_uid] if study_uid else [])]
                                   ).rowcount

    def forget_patient(self, patient_id: str) -> bool:
        """Erase a patient no order names any more: their demographics and the merges naming them (a purge);
        False (nothing changed) while an order of theirs remains."""
        if not patient_id:
            return False
        with self._lock, transaction(self.db):
            if self.db.execute("SELECT 1 FROM orders WHERE patient_id = ? LIMIT 1", [patient_id]).fetchone():
                return False
            self.db.execute("DELETE FROM patients WHERE patient_id = ?", [patient_id])
            self.db.execute("DELETE FROM merges WHERE prior_id = ? OR survivor_id = ?", [patient_id, patient_id])
        return True

    # -- reads ---------------------------------------------------------------------------------
    def survivor(self, ref: PatientRef) -> PatientRef:
        """The patient ``ref`` was (transitively) merged into, or ``ref`` itself."""
        with self._lock:
            return self._survivor(ref)

    def _survivor(self, ref: PatientRef) -> PatientRef:
        seen = {ref}
        while True:
            row = self.db.execute(
                "SELECT survivor_id, survivor_issuer FROM merges WHERE prior_id = ? AND "
                "(prior_issuer = ? OR prior_issuer = '' OR ? = '') ORDER BY id DESC LIMIT 1",
                [ref.patient_id, ref.issuer, ref.issuer]).fetchone()
            if row is None or PatientRef(*row) in seen:
                return ref
            ref = PatientRef(*row)
            seen.add(ref)

    def orders(self, *, include_cancelled: bool = False) -> list[Order]:
        """Every order (the cancelled ones too when asked), newest first."""
        where = "" if include_cancelled else "WHERE status = 'active'"
        with self._lock:
            return self._select(f"SELECT * FROM orders {where} ORDER BY received DESC, id DESC")

    def by_accession(self, accessions: Iterable[str]) -> dict[str, Order]:
        wanted = sorted(set(accessions))
        marks = ",".join("?" * len(wanted))
        with self._lock:
            found = self._select(f"SELECT * FROM orders WHERE accession IN ({marks})", wanted) if wanted else []
        return {o.accession: o for o in found}

    def _select(self, sql: str, params: Sequence[str] = ()) -> list[Order]:
        cursor = self.db.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [_order(dict(zip(names, row))) for row in cursor.fetchall()]

    def count(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT count(*) FROM orders").fetchone()[0])


_ORDER_FIELDS = {f.name for f in fields(Order)} - {"patient", "priority", "accession"}


def _order(row: dict[str, object]) -> Order:
    values = {k: str(row[k]) for k in _ORDER_FIELDS}
    return Order(accession=str(row["accession"]), patient=PatientRef(str(row["patient_id"]), str(row["issuer"])),
                 priority=Priority(str(row["priority"])), **values)
