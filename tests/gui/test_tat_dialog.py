"""Worklist > Turnaround dashboard... in group reading (a real PostgreSQL): the dialog is non-modal, shows the
facility and reader tables of the seeded group, follows a colleague's publish live, exports both tables as
CSV; a screenshot goes to tests/artifacts/tat_dashboard.png."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.group_pg import group_url, pg_server  # noqa: F401  (fixtures)
from tests.group_tat_seed import FACILITY_ROWS, ago, seed
from tests.gui.conftest import main_window


def _cells(table) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]


def test_dashboard_dialog_shows_both_tables_follows_the_group_and_exports(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path, group_url: str, artifacts: Path) -> None:  # noqa: F811
    from app.group import GroupDB, publish
    from app.group.queue import Published

    seed(group_url)
    with main_window(qtbot, tmp_path / "home", "ann", prepare=lambda ws: setattr(ws, "group_url", group_url)) as win:
        assert win.tat_action.shortcut().toString() == "Ctrl+Shift+T"
        assert win.tat_action in win.menuBar().actions()[-2].menu().actions()  # Worklist (before Help)
        win.tat_action.trigger()
        dialog = win.tat_dialog
        assert dialog.isVisible() and not dialog.isModal()
        qtbot.waitUntil(lambda: dialog.facilities.rowCount() == 3, timeout=20_000)
        assert _cells(dialog.facilities) == [
            ["A", "STAT", "60", "2", "0", "1", "1", "5", "4", "1", "30", "80"],
            ["A", "routine", "-", "0", "0", "0", "0", "2", "1", "1", "90", "114"],
            ["B", "urgent", "240", "1", "1", "0", "0", "0", "0", "0", "-", "-"]]
        assert _cells(dialog.readers) == [["(queue)", "3", "0", "0", "0", "0", "0"],
                                          ["ann", "0", "0", "0", "4", "1", "1"],
                                          ["bob", "0", "1", "0", "2", "0", "1"],
                                          ["carl", "0", "0", "1", "0", "0", "0"]]
        assert "group, updated" in dialog.status.text()

        with GroupDB(group_url) as db:  # a colleague's workstation publishes: the dashboard follows
            publish(db, [Published("b-new", "B", "urgent", ago(-200), "CT", arrival=ago(5))], "bob")
        qtbot.waitUntil(lambda: dialog.facilities.item(2, 3).text() == "2", timeout=20_000)

        out = tmp_path / "tat.csv"
        handle = dialog.export_csv(str(out))
        qtbot.waitUntil(lambda: handle.done, timeout=10_000)
        facilities, readers = out.read_text(encoding="utf-8").split("\n\n")
        rows = list(csv.DictReader(io.StringIO(facilities)))
        assert [r["p90_minutes"] for r in rows] == ["80.0", "114.0", ""] and rows[2]["queued"] == "2"
        assert rows[0] == {k: "" if v is None else str(v) for k, v in FACILITY_ROWS[0].items()}
        assert [r["reader"] for r in csv.DictReader(io.StringIO(readers))] == ["(queue)", "ann", "bob", "carl"]
        assert f"Exported to {out}" == dialog.status.text()

        dialog.grab().save(str(artifacts / "tat_dashboard.png"))
        dialog.close()
