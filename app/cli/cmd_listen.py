"""`telerad listen`: run the Storage SCP until Ctrl-C (configured nodes only; unsolicited -> quarantine), and
the HL7 order listener (MLLP) when orders.json sets hl7.port or ``--hl7-port`` is given."""

from __future__ import annotations

import argparse
import sys

from app.cli.context import paths, workstation
from app.cli.progress import cancel_on_sigint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, help="listening port (default: `nodes local` setting)")
    parser.add_argument("--aet", help="our AE title (default: `nodes local` setting)")
    parser.add_argument("--hl7-port", type=int, metavar="N",
                        help="also receive HL7 orders (MLLP) on port N (default: hl7.port in orders.json)")


def execute(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from app.network.nodes import NodeError, load
    from app.network.scp import StorageSCP
    from app.network.sink import cache_sink
    from app.orders.settings import load_orders_settings
    from app.settings import SettingsError

    try:
        hl7_port = load_orders_settings(paths(args).config_dir).port if args.hl7_port is None else args.hl7_port
    except SettingsError as exc:
        print(f"telerad listen: {exc}", file=sys.stderr)
        return 2
    try:
        cfg = load(paths(args).config_dir)
        cfg.local = replace(cfg.local, ae_title=args.aet or cfg.local.ae_title,
                            port=cfg.local.port if args.port is None else args.port)
        tls = None
        if cfg.local.tls.enabled:
            from app.network.tls import server_context

            tls = server_context(cfg.local.tls)
    except NodeError as exc:
        print(f"telerad listen: {exc}", file=sys.stderr)
        return 2
    ws = workstation(args)
    cache, audit = ws.cache, ws.audit
    try:
        with cancel_on_sigint() as stop, StorageSCP(cfg, cache_sink(cache), audit=audit, tls=tls) as scp:
            print(f"listening as {cfg.local.ae_title} on port {scp.port}{' (TLS)' if tls else ''}; Ctrl-C stops",
                  flush=True)
            if hl7_port is not None:
                hl7 = ws.start_hl7_listener(hl7_port)
                print(f"receiving HL7 orders on port {hl7.port}{' (TLS)' if hl7.tls else ''}", flush=True)
            ws.start_purge_schedule()  # the daily retention purge, as the window runs it
            while not stop.wait(0.5):
                pass
    except (OSError, NodeError, SettingsError) as exc:
        print(f"telerad listen: {exc}", file=sys.stderr)
        return 1
    finally:
        ws.close()
    return 0
