"""`telerad nodes add|list|remove|local`: remote DICOM nodes and our own AE (config/nodes.json)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace

from app.cli.context import paths, workstation


def _tls_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tls", action="store_true", help="use DICOM TLS (TLS 1.2+)")
    p.add_argument("--tls-ca", metavar="PEM", help="CA certificate(s) trusted for the peer (pinning)")
    p.add_argument("--tls-cert", metavar="PEM", help="our certificate")
    p.add_argument("--tls-key", metavar="PEM", help="our private key")
    p.add_argument("--no-check-hostname", action="store_true", help="do not match the certificate to the host")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="nodes_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add (or with --replace, redefine) a node")
    add.add_argument("name")
    add.add_argument("--aet", required=True, help="the node's AE title")
    add.add_argument("--host", required=True)
    add.add_argument("--port", type=int, required=True)
    add.add_argument("--retrieve", choices=["get", "move"], default="get", help="preferred retrieve (default get)")
    add.add_argument("--dicomweb", metavar="URL", help="DICOMweb base URL (QIDO/WADO/STOW)")
    add.add_argument("--wire", choices=["lossless", "stored", "lossy"], default="lossless",
                     help="compression on the wire: lossless (default; WADO-RS always, C-GET/C-MOVE with "
                          "--transcodes), stored (as the PACS holds them), lossy (accepted; images marked LOSSY)")
    add.add_argument("--transcodes", action="store_true",
                     help="the PACS transcodes on DIMSE: C-GET/C-MOVE propose compressed syntaxes first")
    add.add_argument("--replace", action="store_true", help="overwrite an existing node of that name")
    _tls_args(add)
    lst = sub.add_parser("list", help="list nodes and our own AE")
    lst.add_argument("--json", action="store_true")
    rm = sub.add_parser("remove", help="remove a node")
    rm.add_argument("name")
    loc = sub.add_parser("local", help="set our own AE title, listening port and TLS")
    loc.add_argument("--aet")
    loc.add_argument("--port", type=int)
    loc.add_argument("--host", help="listening address (default 0.0.0.0)")
    _tls_args(loc)


def _tls(args: argparse.Namespace, base):  # type: ignore[no-untyped-def]
    from app.network.nodes import TlsSettings

    if not (args.tls or args.tls_ca or args.tls_cert or args.tls_key):
        return base if base is not None else TlsSettings()
    return TlsSettings(enabled=True, ca_file=args.tls_ca, cert_file=args.tls_cert, key_file=args.tls_key,
                       check_hostname=not args.no_check_hostname)


def execute(args: argparse.Namespace) -> int:
    from app.network import netaudit
    from app.network.nodes import Node, NodeError, load, save

    config_dir = paths(args).config_dir
    try:
        cfg = load(config_dir)
        if args.nodes_command == "list":
            if args.json:
                print(json.dumps(cfg.to_json(), indent=2))
            else:
                loc = cfg.local
                print(f"local: {loc.ae_title} listening on {loc.host}:{loc.port}{' TLS' if loc.tls.enabled else ''}")
                for n in cfg.nodes.values():
                    extra = (" TLS" if n.tls.enabled else "") + (f" dicomweb={n.dicomweb}" if n.dicomweb else "")
                    extra += f" wire={n.wire}" + (" transcodes" if n.transcodes else "")
                    print(f"{n.name}: {n.ae_title}@{n.host}:{n.port} retrieve={n.retrieve}{extra}")
            return 0
        if args.nodes_command == "add":
            node = Node(args.name, args.aet, args.host, args.port, args.retrieve, args.dicomweb, _tls(args, None),
                        wire=args.wire, transcodes=args.transcodes)
            cfg.add(node, replace_existing=args.replace)
            change = {"action": "add", "node": asdict(node)}
        elif args.nodes_command == "remove":
            cfg.remove(args.name)
            change = {"action": "remove", "node": args.name}
        else:
            loc = cfg.local
            cfg.local = replace(loc, ae_title=args.aet or loc.ae_title, port=args.port or loc.port,
                                host=args.host or loc.host, tls=_tls(args, loc.tls))
            Node("local", cfg.local.ae_title, cfg.local.host, cfg.local.port)  # validates
            change = {"action": "local", "local": asdict(cfg.local)}
        save(config_dir, cfg)
    except NodeError as exc:
        print(f"telerad nodes: {exc}", file=sys.stderr)
        return 2
    with workstation(args) as ws:
        netaudit.network_entry(ws.audit, what="config", detail=change, user=ws.user)
    return 0
