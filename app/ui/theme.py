"""Application theme: dark by default (a reading room), light as an option; UI text size from DPI and a setting.

Settings (window.ini): ``ui/theme`` = dark | light, ``ui/text_scale`` (1.0 = the platform's size).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

THEMES = ("dark", "light")
_DARK = {
    "Window": "#1b1c1e", "WindowText": "#c8c8c8", "Base": "#141517", "AlternateBase": "#1e1f22",
    "ToolTipBase": "#2a2b2e", "ToolTipText": "#e0e0e0", "Text": "#d0d0d0", "Button": "#242528",
    "ButtonText": "#d0d0d0", "BrightText": "#ff6060", "Highlight": "#2f5677", "HighlightedText": "#ffffff",
    "Link": "#6aa6e0", "PlaceholderText": "#6f7075", "Light": "#34353a", "Midlight": "#2a2b2f",
    "Mid": "#202124", "Dark": "#0f1011", "Shadow": "#000000",
}
_DISABLED = {"Text": "#6a6a6a", "WindowText": "#6a6a6a", "ButtonText": "#6a6a6a"}
_DARK_SHEET = """
QToolBar { border: 0; spacing: 2px; }
QSplitter::handle { background: #101112; }
QTabBar::tab { background: #1f2023; color: #a8a8a8; padding: 3px 12px; border: 0; }
QTabBar::tab:selected { background: #2b2c30; color: #e6e6e6; }
QTabWidget::pane { border: 0; }
QHeaderView::section { background: #202124; color: #b0b0b0; border: 0; border-right: 1px solid #2c2d31; padding: 2px 4px; }
QStatusBar { color: #a0a0a0; }
QMenuBar { background: #18191b; color: #c0c0c0; }
QMenuBar::item:selected, QMenu::item:selected { background: #2f5677; }
QMenu { background: #1f2023; color: #d0d0d0; border: 1px solid #333; }
"""


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in _DARK.items():
        palette.setColor(getattr(QPalette.ColorRole, role), QColor(colour))
    for role, colour in _DISABLED.items():
        palette.setColor(QPalette.ColorGroup.Disabled, getattr(QPalette.ColorRole, role), QColor(colour))
    return palette


def apply_theme(name: str = "dark", text_scale: float = 1.0, app: Any = None) -> str:
    """Style the whole application (Fusion + palette + a small style sheet); returns the theme applied."""
    from app.ui import worklist_model

    app = app or QApplication.instance()
    name = name if name in THEMES else "dark"
    if app is None:
        return name
    if not hasattr(app, "_telerad_base_font"):
        app._telerad_base_font = QFont(app.font())  # noqa: SLF001 (remember the platform's size once)
    app.setStyle(QStyleFactory.create("Fusion"))
    if name == "dark":
        app.setPalette(dark_palette())
        app.setStyleSheet(_DARK_SHEET)
    else:
        app.setPalette(app.style().standardPalette())
        app.setStyleSheet("")
    worklist_model.set_theme(name)
    font = QFont(app._telerad_base_font)  # noqa: SLF001
    if font.pointSizeF() > 0:  # point sizes follow the screen's logical DPI already
        font.setPointSizeF(font.pointSizeF() * min(2.5, max(0.7, float(text_scale))))
    app.setFont(font)
    return name


def screen_dpi(widget: Any = None) -> float:
    """Logical DPI of the widget's screen (96 if unknown)."""
    screen = widget.screen() if widget is not None else None
    screen = screen or (QApplication.primaryScreen() if QApplication.instance() else None)
    return float(screen.logicalDotsPerInch()) if screen is not None else 96.0
