"""The worklist at cold start: the first page of the reading order at once, then the whole worklist.

The first page comes from one index query (``Worklist.first_page``: no entry built for the other studies);
the full refresh (``MainWindow.refresh``, with its progress in the status bar) starts once it is shown.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow
    from app.workstation import Workstation

log = logging.getLogger(__name__)
FIRST_PAGE = 200  # rows: more than a screen holds


def first_page(ws: "Workstation", progress: Any = None, cancel: Optional[threading.Event] = None) -> list[Any]:
    """Task: the first page of the cached studies' reading order."""
    return ws.worklist.first_page(ws.cache, FIRST_PAGE, cancel=cancel)


def load_worklist_at_start(window: "MainWindow", then: Optional[Callable[[], Any]] = None) -> None:
    """Show the first page (unless the full worklist got there first), then refresh the whole worklist and
    call ``then`` once the page has painted (the viewer's warm-up: its work would slow the page down)."""
    from PySide6.QtCore import QTimer

    model = window.worklist_panel.model

    def next_steps() -> None:
        window.refresh()
        if then is not None:
            QTimer.singleShot(0, then)

    def shown(page: list[Any]) -> None:
        if not model.entries():
            model.set_entries(page)
        next_steps()

    def failed(exc: BaseException) -> None:
        log.warning("first page of the worklist not shown: %s", exc)
        next_steps()

    window.bridge.submit("Loading worklist", first_page, window.ws, on_success=shown, on_failure=failed)
