"""Apply a hanging plan (app.hanging) to the viewer widget: layout, pages, windows, mirror, sync."""

from __future__ import annotations

import re
from typing import Any, Optional

from app.hanging import Cell, Plan
from app.viewer.hang import apply_cell_to_model, relayout


def apply_plan(viewer: Any, plan: Plan, layout: Optional[str] = None) -> None:
    """Hang page 1 of ``plan`` (``layout`` overrides the protocol's: the first cells fill it)."""
    plan = relayout(plan, layout)
    viewer.plan = plan
    viewer.sync_action.setChecked(plan.protocol.sync)
    viewer.set_sync(plan.protocol.sync)
    viewer.reflines_action.setChecked(plan.protocol.reference_lines)
    show_page(viewer, 0)
    viewer.statusMessage.emit(f"Protocol: {plan.protocol.name}" + (f" (page 1 of {len(plan.pages)})"
                                                                   if len(plan.pages) > 1 else ""))


def show_page(viewer: Any, page: int) -> None:
    """Show page ``page`` of the viewer's plan; viewports without a series are emptied."""
    viewer.page = page
    viewer.set_layout(viewer.plan.layout)
    for i, cell in enumerate(viewer.plan.pages[page][: len(viewer.viewports)]):
        if cell.series_uid:
            viewer._open_in(viewer.viewports[i], cell.series_uid, None, cell)
        elif viewer.viewports[i].model.has_image:
            viewer.clear_viewport(i)
    if page:
        viewer.statusMessage.emit(f"Protocol page {page + 1} of {len(viewer.plan.pages)}")


def apply_cell(view: Any, cell: Optional[Cell]) -> None:
    """A cell's window preset and mirror on a viewport that just got its series."""
    view.window_group = cell.window if cell is not None else ""  # linked W/L only within a group
    apply_cell_to_model(view.model, cell)


def protocol_from_screen(viewer: Any, name: str) -> Any:
    """A user protocol for this kind of study: the layout, series, windows and sync now on screen."""
    from app.hanging import Match, Protocol, ViewportRule
    from app.viewer.hang import VIEWS_MODALITIES, preset_name_of

    content = viewer._content
    priors = {s.study_instance_uid: i + 1 for i, (s, _) in enumerate(content.priors)} if content else {}
    rules = []
    for view in viewer.viewports:
        info = view.model.series
        if info is None:
            rules.append(ViewportRule(series_description="(?!)", fallback=False))  # stays empty
            continue
        prior = priors.get(info.study_uid, 0)
        rule = ViewportRule("prior" if prior else "current", max(prior, 1), re.escape(info.modality),
                            f"^{re.escape(info.description)}$" if info.description else "",
                            window=preset_name_of(view.model.state.window, info.modality))
        if info.modality.upper() in VIEWS_MODALITIES:
            rule.laterality, rule.view = _view_of(view)
        rules.append(rule)
    modality = content.series[0].modality if content and content.series else ""
    body = content.body_part if content else ""
    match = Match(modality=re.escape(modality), body_part=f"^{re.escape(body)}$" if body else "",
                  min_priors=max([r.prior for r in rules if r.role == "prior"], default=0))
    study = viewer._cache.get_study(content.study_uid) if content and viewer._cache is not None else None
    if not body and study is not None and study.description:  # no body part: this study description
        match.study_description = f"^{re.escape(study.description)}$"
    mirror = bool(viewer.plan and viewer.plan.protocol.mirror)
    return Protocol(name, match, viewer.layout_name, rules, viewer.sync_enabled,
                    viewer.reflines_action.isChecked(), mirror, source="user")


def _view_of(view: Any) -> tuple[str, str]:
    from app.hanging.facts import image_facts

    try:
        facts = image_facts(view.model.frames.dataset(view.model.ref.path))
    except Exception:  # noqa: BLE001 - an unreadable header only means no laterality in the rule
        return "", ""
    return facts.laterality, re.escape(facts.view)


def default_protocol_name(viewer: Any) -> str:
    content = viewer._content
    modality = content.series[0].modality if content and content.series else "Study"
    return " ".join(x for x in (modality, content.body_part if content else "", viewer.layout_name, "(mine)") if x)
