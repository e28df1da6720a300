"""The viewer's reading tools: hanging-protocol pages and "save this layout", thick slab, the measurement list."""

from __future__ import annotations

from typing import Any


class ReadingToolsMixin:
    """Mixed into ViewerWidget (needs ``viewports``, ``active``, ``plan``, ``page``, ``history``, ``statusMessage``)."""

    viewports: list[Any]
    active: Any
    plan: Any
    page: int
    history: Any
    protocols_path: Any
    statusMessage: Any  # noqa: N815 (Qt signal)

    # -- protocols -----------------------------------------------------------------------------
    def show_page(self, delta: int) -> None:
        """Next (1) or previous (-1) page of the hanging protocol (e.g. the prior mammograms)."""
        from app.viewer.hanging_view import show_page

        if self.plan is not None and len(self.plan.pages) > 1:
            show_page(self, (self.page + delta) % len(self.plan.pages))

    def save_hanging_protocol(self, name: str) -> Any:
        """Save what is on screen as a user protocol for this kind of study (first in the user's file)."""
        from app.hanging import save_user_protocol
        from app.viewer.hanging_view import protocol_from_screen

        protocol = protocol_from_screen(self, name)
        if self.protocols_path is not None:
            save_user_protocol(self.protocols_path, protocol)
            self.statusMessage.emit(f"Protocol saved: {name}")
        return protocol

    def save_protocol_dialog(self) -> None:
        """Layout > Save this layout as a protocol: asks for a name."""
        from PySide6.QtWidgets import QInputDialog

        from app.viewer.hanging_view import default_protocol_name

        name, ok = QInputDialog.getText(self, "Save this layout as a protocol", "Protocol name:",
                                        text=default_protocol_name(self))
        if ok and name.strip():
            try:
                self.save_hanging_protocol(name.strip())
            except OSError as exc:
                self.statusMessage.emit(f"Protocol not saved: {exc.strerror or exc}")

    # -- measurements ----------------------------------------------------------------------------
    def refresh_measurements(self, ann: Any) -> None:
        """Redraw the viewports showing a study's measurements (after an edit from the list)."""
        for v in self.viewports:
            if v.model.annotations is ann and v.model.has_image:
                v.refresh({"measure"})

    def show_measurements(self) -> Any:
        """Measurements > Edit measurements: the active study's measurements, to go to, relabel or delete."""
        from app.viewer._qt.measurement_list import MeasurementList

        ann = self.active.model.annotations if self.active is not None else None
        if ann is None:
            self.statusMessage.emit("Open a study to list its measurements")
            return None
        self.measurement_list = MeasurementList(self, ann)
        self.measurement_list.show()
        return self.measurement_list

    # -- thick slab ----------------------------------------------------------------------------
    def cycle_slab(self) -> str:
        """Thick slab of the active viewport: off -> MIP -> MinIP -> average -> off."""
        view = self.active
        if view is None or not view.model.has_image:
            return ""
        if not view.model.series.is_volume or view.model.series.is_color:
            self.statusMessage.emit("Thick slab needs a volume (parallel slices of one series)")
            return ""
        view.model.slab.cycle()
        view.refresh({"frame"})
        self.statusMessage.emit(f"Slab: {view.model.slab.label or 'off'}")
        return view.model.slab.mode

    def change_slab(self, delta: int) -> float:
        """Slab thickness of the active viewport one step thicker (1) or thinner (-1), in mm."""
        view = self.active
        if view is None or not view.model.has_image:
            return 0.0
        thickness = view.model.slab.step(delta)
        if view.model.slab.mode:
            view.refresh({"frame"})
            self.statusMessage.emit(f"Slab: {view.model.slab.label}")
        return thickness
