"""A signed-in user: name, display name and the data dir's master key (in memory only)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Session:
    """What :meth:`app.security.AccountStore.unlock` returns. ``master_key`` never appears in ``repr``."""

    user: str
    display_name: str
    master_key: bytes = field(repr=False)
    signed_in_at: str = ""

    @property
    def label(self) -> str:
        """``Dr Alice Example (alice)``, or the name alone."""
        return f"{self.display_name} ({self.user})" if self.display_name and self.display_name != self.user else self.user
