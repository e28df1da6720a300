"""What AI results say on a worklist row (filled by the workstation from the AI results store), and the rule
that a suspected critical finding raises the study to STAT with its clock restarted (or kept) by site rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Mapping, Optional


@dataclass(frozen=True)
class AiFindingMark:
    """One AI finding of a study: ``label`` (ICH), decision pending / accepted / rejected."""

    key: str
    label: str
    critical: bool
    decision: str = "pending"
    decided_by: str = ""

    @property
    def text(self) -> str:
        """``AI: suspected ICH`` (with the decision once made)."""
        base = f"AI: suspected {self.label}"
        return base if self.decision == "pending" else f"{base} ({self.decision})"


@dataclass(frozen=True)
class AiMark:
    """The AI findings of a study; ``result_at``: when the first critical result arrived; ``restart_clock``:
    the site's rule (the STAT clock runs from ``result_at``, else from the study's arrival)."""

    findings: tuple[AiFindingMark, ...] = ()
    result_at: Optional[datetime] = None
    restart_clock: bool = True
    raises: tuple[str, ...] = ("ich", "lvo", "pe")

    @property
    def raising(self) -> tuple[AiFindingMark, ...]:
        """Suspected critical findings that raise the priority (a rejected one no longer does)."""
        return tuple(f for f in self.findings if f.critical and f.key in self.raises and f.decision != "rejected")

    @property
    def text(self) -> str:
        """``AI: suspected ICH, LVO`` for the raising findings, else the others' texts."""
        raising = self.raising
        if raising:
            return "AI: suspected " + ", ".join(f.label for f in raising)
        return "; ".join(f.text for f in self.findings)


NO_AI = AiMark()
AiMarks = Callable[["Iterable[str] | None"], "Mapping[str, AiMark]"]


def ai_clock_start(mark: AiMark, arrival: datetime) -> datetime:
    """Where the STAT clock of an AI-raised study starts: the AI result's arrival (restart), else the study's."""
    if mark.restart_clock and mark.result_at is not None:
        return max(arrival, mark.result_at)
    return arrival
