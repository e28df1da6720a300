"""Remote DICOM nodes and our own AE, stored as ``nodes.json`` in the config folder (atomic writes).

No pynetdicom here: the CLI and the settings UI read nodes without paying for the network stack.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

FILE_NAME = "nodes.json"
RetrieveMethod = Literal["get", "move"]
WireCompression = Literal["lossless", "stored", "lossy"]
_AET_RE = re.compile(r"[\x20-\x5b\x5d-\x7e]{1,16}")  # default repertoire without backslash


class NodeError(ValueError):
    """A node definition is invalid or unknown."""


@dataclass(frozen=True)
class TlsSettings:
    """DICOM TLS for one peer: CA-pinned, optional client certificate (TLS 1.2+ always)."""

    enabled: bool = False
    ca_file: str | None = None  # trusted CA(s) for the peer's certificate (pinning)
    cert_file: str | None = None  # our certificate (client certificate / server certificate)
    key_file: str | None = None
    check_hostname: bool = True


@dataclass(frozen=True)
class Node:
    """A remote PACS or modality."""

    name: str
    ae_title: str
    host: str
    port: int
    retrieve: RetrieveMethod = "get"
    dicomweb: str | None = None
    tls: TlsSettings = field(default_factory=TlsSettings)
    # on the wire: "lossless" = ask for lossless compression (WADO-RS always; C-GET if ``transcodes``),
    # "stored" = as the PACS holds them, "lossy" = lossy compression accepted (images then marked lossy)
    wire: WireCompression = "lossless"
    transcodes: bool = False  # the PACS transcodes on DIMSE (C-GET may then propose compressed first)

    def __post_init__(self) -> None:
        check_ae_title(self.ae_title)
        if self.wire not in ("lossless", "stored", "lossy"):
            raise NodeError(f"wire compression {self.wire!r}: use lossless, stored or lossy")
        if not self.name or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", self.name):
            raise NodeError(f"node name {self.name!r}: use 1-64 letters, digits, '_', '.', '-'")
        if not self.host:
            raise NodeError("host is empty")
        if not 0 < int(self.port) < 65536:
            raise NodeError(f"port {self.port} out of range")
        if self.retrieve not in ("get", "move"):
            raise NodeError(f"retrieve method {self.retrieve!r}: use get or move")
        if self.dicomweb and not re.match(r"https?://", self.dicomweb):
            raise NodeError("the DICOMweb URL must start with http:// or https://")


@dataclass(frozen=True)
class LocalAE:
    """Our own AE: title, listening address and port, TLS for the Storage SCP."""

    ae_title: str = "TELERAD"
    port: int = 11112
    host: str = "0.0.0.0"
    tls: TlsSettings = field(default_factory=TlsSettings)
    max_associations: int = 10
    association_deadline: float = 3600.0


def check_ae_title(value: str) -> str:
    """Return ``value`` if it is a valid AE title (1-16 chars, no backslash/control, not blank)."""
    if not _AET_RE.fullmatch(value or "") or not value.strip():
        raise NodeError(f"AE title {value!r}: 1-16 printable characters, no backslash")
    return value


@dataclass
class NodeConfig:
    """Every configured node plus our own AE."""

    local: LocalAE = field(default_factory=LocalAE)
    nodes: dict[str, Node] = field(default_factory=dict)

    def get(self, name: str) -> Node:
        try:
            return self.nodes[name]
        except KeyError:
            known = ", ".join(sorted(self.nodes)) or "none"
            raise NodeError(f"unknown node {name!r} (configured: {known})") from None

    def add(self, node: Node, replace_existing: bool = False) -> None:
        if node.name in self.nodes and not replace_existing:
            raise NodeError(f"node {node.name!r} exists (remove it first)")
        self.nodes[node.name] = node

    def remove(self, name: str) -> Node:
        node = self.get(name)
        del self.nodes[name]
        return node

    def node_for(self, calling_aet: str, host: str) -> Node | None:
        """The configured node with this AE title whose host resolves to ``host``, if any."""
        for node in self.nodes.values():
            if node.ae_title == calling_aet and host in _addresses(node.host):
                return node
        return None

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "local": asdict(self.local),
                "nodes": {name: asdict(n) for name, n in sorted(self.nodes.items())}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "NodeConfig":
        local = data.get("local") or {}
        cfg = cls(local=replace(LocalAE(**{k: v for k, v in local.items() if k != "tls"}),
                                tls=TlsSettings(**(local.get("tls") or {}))))
        for name, raw in (data.get("nodes") or {}).items():
            raw = dict(raw, name=name)
            raw["tls"] = TlsSettings(**(raw.get("tls") or {}))
            cfg.nodes[name] = Node(**raw)
        return cfg


def _addresses(host: str) -> set[str]:
    import socket

    found = {host}
    try:
        found |= {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError:
        pass
    if host in ("localhost", "127.0.0.1", "::1"):
        found |= {"127.0.0.1", "::1"}
    return found


def load(config_dir: Path) -> NodeConfig:
    """Read ``nodes.json`` (defaults if it does not exist); NodeError naming the file and key if invalid."""
    from app.settings import SettingsError, load_settings

    try:
        return load_settings(config_dir, FILE_NAME, NodeConfig, NodeConfig.from_json)
    except SettingsError as exc:
        raise NodeError(str(exc)) from exc


def save(config_dir: Path, cfg: NodeConfig) -> Path:
    """Write ``nodes.json`` atomically (the one settings writer)."""
    from app.settings import save_settings

    return save_settings(config_dir, FILE_NAME, cfg)


def validate_config(cfg: NodeConfig) -> NodeConfig:
    """A validated deep copy of ``cfg``: nodes, our AE, TLS files that exist (else :class:`NodeError`)."""
    if any(key != node.name for key, node in cfg.nodes.items()):
        raise NodeError("node names and keys differ")
    copy = NodeConfig.from_json(cfg.to_json())
    local = copy.local
    try:
        Node("local", local.ae_title, local.host, local.port or 1)  # the title, address and port rules
        if local.max_associations < 1:
            raise NodeError("max associations must be at least 1")
    except NodeError as exc:
        raise NodeError(f"this workstation: {exc}") from None
    peers = [(f"node {n.name}", n.tls, ("ca_file",)) for n in copy.nodes.values()]
    for who, tls, needed in [("this workstation", local.tls, ("cert_file", "key_file", "ca_file")), *peers]:
        for key in ("ca_file", "cert_file", "key_file") if tls.enabled else ():
            path = getattr(tls, key)
            if (path or key in needed) and not (path and Path(path).is_file()):
                raise NodeError(f"{who}: TLS {key.replace('_', ' ')} {'not found: ' + path if path else 'missing'}")
    return copy


def config_changes(old: NodeConfig, new: NodeConfig) -> dict[str, Any]:
    """What an edit changed (names only), for the audit record."""
    same = old.nodes.keys() & new.nodes.keys()
    return {"action": "edit", "added": sorted(new.nodes.keys() - same), "removed": sorted(old.nodes.keys() - same),
            "changed": sorted(n for n in same if old.nodes[n] != new.nodes[n]), "local": old.local != new.local}
