"""Every setting of a data directory as one typed, validated object (read through ``app.settings``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.network.nodes import NodeConfig
    from app.orders.settings import OrdersSettings
    from app.reporting.letterhead import Letterhead
    from app.reporting.settings import ReportingSettings


@dataclass(frozen=True)
class Settings:
    """``nodes.json`` (remote nodes, this workstation's AE), ``reporting.json`` (destinations, outbox, HL7),
    ``letterhead.json`` (the PDF's institution block), ``orders.json`` (the HL7 order listener)."""

    nodes: "NodeConfig"
    reporting: "ReportingSettings"
    letterhead: "Letterhead"
    orders: "OrdersSettings"


def load_settings(config_dir: Path) -> Settings:
    """All settings of ``config_dir``; an invalid file raises an error naming the file and the key."""
    from app.network.nodes import load
    from app.orders.settings import load_orders_settings
    from app.reporting.letterhead import load_letterhead
    from app.reporting.settings import load_settings as load_reporting

    return Settings(load(config_dir), load_reporting(config_dir), load_letterhead(config_dir),
                    load_orders_settings(config_dir))
