"""Legal reading-status transitions: unread -> in progress -> preliminary -> final -> amended."""

from __future__ import annotations

from app.worklist.types import Status

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.UNREAD: frozenset({Status.IN_PROGRESS}),
    # release back to unread, or report (a final report may skip the preliminary one)
    Status.IN_PROGRESS: frozenset({Status.UNREAD, Status.PRELIMINARY, Status.FINAL}),
    Status.PRELIMINARY: frozenset({Status.IN_PROGRESS, Status.FINAL}),
    Status.FINAL: frozenset({Status.AMENDED}),
    Status.AMENDED: frozenset({Status.AMENDED}),  # a further addendum
}


class IllegalTransition(ValueError):
    """A status change the workflow does not allow (e.g. unread -> final, final -> unread)."""


def check_transition(old: Status, new: Status) -> None:
    """Raise :class:`IllegalTransition` unless ``old -> new`` is allowed."""
    if new not in TRANSITIONS[old]:
        raise IllegalTransition(f"cannot go from {old.label} to {new.label}")


def path_to(old: Status, new: Status) -> list[Status]:
    """The shortest chain of legal steps from ``old`` to ``new`` (excluding ``old``); [] if none."""
    frontier: list[list[Status]] = [[old]]
    seen = {old}
    while frontier:
        chain = frontier.pop(0)
        for nxt in sorted(TRANSITIONS[chain[-1]], key=lambda s: list(Status).index(s)):
            if nxt == new:
                return chain[1:] + [nxt]
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(chain + [nxt])
    return []
