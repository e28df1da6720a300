"""The site's retention rule, read from ``<config_dir>/retention.json`` (every key optional), and the decision
it makes for one study. ``telerad purge`` and the daily run (app.workstation.purge) apply it.

```json
{
  "images_days_after_delivery": 14,     // a study's images, once every signed report of it was delivered
  "reports_days_after_delivery": 30,    // the signed report copies (rows, PDF, SR), counted the same way;
                                        // at least the images' days; null: kept (the images still go)
  "unreported_days_after_access": null, // a study without any report: N days after its last access
                                        // (arrival, opening, viewing); null: never purged by the rule
  "daily": true                         // the window and `telerad listen` purge once a day
}
```
Never purged: a study with an unsigned report (draft, preliminary, open addendum), a signed report not
delivered yet (or never queued for delivery), or a study open for reading. reporting.json's ``retention``
applies to ``telerad delete`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Optional

SETTINGS_FILE = "retention.json"


@dataclass(frozen=True)
class RetentionRule:
    images_days_after_delivery: Optional[float] = 14
    reports_days_after_delivery: Optional[float] = 30
    unreported_days_after_access: Optional[float] = None
    daily: bool = True

    def __post_init__(self) -> None:
        for key in ("images_days_after_delivery", "reports_days_after_delivery", "unreported_days_after_access"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise ValueError(f"{key} must be a number of days >= 0 or null, not {value!r}")
        images, reports = self.images_days_after_delivery, self.reports_days_after_delivery
        if reports is not None and (images is None or reports < images):
            raise ValueError("reports_days_after_delivery must be at least images_days_after_delivery "
                             "(report copies outlive the images)")

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def load_rule(config_dir: Path) -> RetentionRule:
    """The rule in ``config_dir`` (defaults without the file); SettingsError naming the file and key."""
    from app.settings import load_settings

    known = set(RetentionRule.__dataclass_fields__)
    return load_settings(config_dir, SETTINGS_FILE, RetentionRule,
                         lambda d: RetentionRule(**{k: v for k, v in d.items() if k in known}))


def save_rule(config_dir: Path, rule: RetentionRule) -> Path:
    from app.settings import save_settings

    return save_settings(config_dir, SETTINGS_FILE, rule)


@dataclass(frozen=True)
class StudyFacts:
    """What the rule looks at for one study."""

    study_uid: str
    in_cache: bool
    unsigned: int  # drafts, preliminaries, open addenda
    signed: tuple[str, ...]  # signed report ids
    delivered_at: Optional[datetime]  # when the last of them was delivered; None while any is not
    last_access: Optional[datetime]  # arrival, opening, viewing (audit log, worklist)
    claimed_by: str = ""


@dataclass(frozen=True)
class Decision:
    """Purge the images and/or the signed report copies of a study; ``why`` says why (kept or purged)."""

    images: bool
    reports: bool
    why: str

    @property
    def purges(self) -> bool:
        return self.images or self.reports


def decide(facts: StudyFacts, rule: RetentionRule, now: datetime) -> Decision:
    """The rule applied to one study at ``now``."""
    if facts.unsigned:
        return Decision(False, False, "kept: an unsigned report (draft, preliminary or open addendum)")
    if facts.claimed_by:
        return Decision(False, False, "kept: open for reading")
    if facts.signed:
        return _signed(facts, rule, now)
    days = rule.unreported_days_after_access
    if not facts.in_cache:
        return Decision(False, False, "kept: nothing stored")
    if days is None:
        return Decision(False, False, "kept: unreported (the rule keeps unreported studies)")
    if facts.last_access is not None and now < facts.last_access + timedelta(days=days):
        return Decision(False, False, f"kept: unreported, last accessed {_day(facts.last_access)} "
                                      f"(until {_day(facts.last_access + timedelta(days=days))})")
    return Decision(True, False, f"purged: unreported, not accessed for {_n(days)} days")


def _signed(facts: StudyFacts, rule: RetentionRule, now: datetime) -> Decision:
    if facts.delivered_at is None:
        return Decision(False, False, "kept: a signed report not delivered yet")
    images_days, reports_days = rule.images_days_after_delivery, rule.reports_days_after_delivery
    images = facts.in_cache and images_days is not None and now >= facts.delivered_at + timedelta(days=images_days)
    reports = reports_days is not None and now >= facts.delivered_at + timedelta(days=reports_days)
    since = f"report delivered {_day(facts.delivered_at)}"
    if reports:
        return Decision(facts.in_cache, True, f"purged: {since}, report copies kept {_n(reports_days)} days")
    keep_reports = ("report copies kept (no limit set)" if reports_days is None else
                    f"report copies kept until {_day(facts.delivered_at + timedelta(days=reports_days))}")
    if images:
        return Decision(True, False, f"images purged: {since}, {_n(images_days)} days; {keep_reports}")
    if facts.in_cache and images_days is not None:
        return Decision(False, False, f"kept: {since}, images until "
                                      f"{_day(facts.delivered_at + timedelta(days=images_days))}")
    return Decision(False, False, f"kept: {since}; " + ("images kept (no limit set)" if facts.in_cache
                                                          else keep_reports))


def _day(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _n(days: float) -> str:
    return f"{days:g}"
