"""File > Group reading...: test a URL against a real PostgreSQL (off the main thread), a refused one says
why, save it (owner-only file), and the next start of the window is in group mode (Worklist > Next case)."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.core.test_group_cli import ok, telerad
from tests.group_pg import free_port, group_url, pg_server  # noqa: F401  (fixtures)
from tests.gui.conftest import main_window


def _menu_action(win, text: str):  # type: ignore[no-untyped-def]
    for top in win.menuBar().actions():
        for action in (top.menu().actions() if top.menu() else []):
            if action.text().replace("&", "") == text:
                return action
    raise AssertionError(f"no menu action {text!r}")


def test_save_a_group_url_and_the_next_start_reads_in_the_group(qtbot, tmp_path: Path, group_url: str,  # noqa: F811
                                                                 artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    with main_window(qtbot, home, user="ann") as win:
        assert getattr(win, "next_case_action", None) is None  # a lone reader
        _menu_action(win, "Group reading...").trigger()
        dialog = win.group_settings_dialog
        qtbot.waitExposed(dialog)
        assert "reading alone" in dialog.status.text()
        dialog.url.setText(f"postgresql://ann@127.0.0.1:{free_port()}/telerad")
        dialog.test_button.click()
        qtbot.waitUntil(lambda: "cannot use the group database" in dialog.status.text(), timeout=15_000)
        dialog.url.setText("mysql://db/x")
        dialog.save()
        assert dialog.isVisible() and "postgresql://" in dialog.status.text()  # refused, the dialog stays
        dialog.url.setText(group_url)
        dialog.test_button.click()
        qtbot.waitUntil(lambda: dialog.status.text().startswith("Connected: PostgreSQL"), timeout=15_000)
        dialog.grab().save(str(artifacts / "group_settings.png"))
        dialog.save()
        assert not dialog.isVisible()
    saved = home / "config" / "group.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    ok(telerad(home, group_url, "readers", "add", "ann", "--facility", "A", "--license", "TX"))
    with main_window(qtbot, home, user="ann") as win:  # no --group this time
        assert win.next_case_action is not None and win.ws.group_url is None
