"""Per-association protection for the sockets our Storage SCP accepts (enforced by DicomSocket)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

# (calling AE, called AE, peer host) -> None to accept, or a reason code (PS3.8 9.3.4) to reject
AccessCheck = Callable[[str, str, str], Optional[int]]


@dataclass(frozen=True)
class Limits:
    """Deadlines, access check and refusal callback (``None`` = no limit).

    Before an association exists (TLS handshake, A-ASSOCIATE-RQ) a connection holds no association
    slot, only a place among ``pending_per_address`` / ``pending_total``; a newcomer past either
    limit cuts the oldest pending connection (of its address, or overall). Once associated, one
    address holds at most ``associations_per_address`` associations, so a broken or hostile peer
    cannot take every slot from the others (a newcomer past it gets a transient A-ASSOCIATE-RJ)."""

    request_deadline: float | None = 5.0  # the whole A-ASSOCIATE-RQ must arrive by then
    association_deadline: float | None = 3600.0  # the whole association, however busy
    access: AccessCheck | None = None
    on_refused: Callable[[str, str], None] | None = None  # (peer host, reason)
    pending_per_address: int = 4
    pending_total: int = 64
    associations_per_address: int | None = None
