"""The composition root (Qt-free, VTK-free): the services of one data directory and the use cases on them.

The CLI and the window both call :class:`Workstation`; no business rule lives in a widget or a CLI
command. Nothing below this package imports it (an import-linter contract).
"""

from app.workstation.reading import ReadingSession
from app.workstation.workstation import Workstation, WorkstationError

__all__ = ["ReadingSession", "Workstation", "WorkstationError"]
