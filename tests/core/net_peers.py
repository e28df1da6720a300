"""Real DICOM peers for network tests and the benchmark: Orthanc and dcmtk as plain processes.

No pytest here (the benchmark imports it too). Every peer runs on 127.0.0.1 with a free port and
``TCP_NODELAY=1`` (dcmtk, also inside Orthanc, keeps Nagle on otherwise: ~44 ms per response).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, Iterable

DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")


def _dcmtk_path() -> str:
    """PATH with this interpreter's bin folder last: pynetdicom installs its own ``echoscu``,
    ``storescu``, ``getscu``... there, and an activated venv would put them ahead of dcmtk's."""
    venv_bin = os.path.dirname(os.path.abspath(sys.executable))
    parts = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and os.path.abspath(d) != venv_bin]
    return os.pathsep.join([*parts, venv_bin])


NODELAY_ENV = {**os.environ, "TCP_NODELAY": "1", "PATH": _dcmtk_path()}


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0, proc: subprocess.Popen | None = None) -> None:
    """Block until something listens on ``port`` (fail fast if ``proc`` died)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"peer exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    """Terminate a peer we started, then kill it if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@dataclass
class Orthanc:
    """One Orthanc process with its own JSON config and storage in ``root``."""

    root: Path
    aet: str = "ORTHANC"
    modalities: dict[str, list[Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    dicom_port: int = 0
    http_port: int = 0
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "Name": "telerad-test", "StorageDirectory": str(self.root / "storage"),
            "IndexDirectory": str(self.root / "index"), "DicomAet": self.aet,
            "DicomPort": self.dicom_port, "HttpPort": self.http_port, "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False, "DicomModalities": self.modalities,
            "DicomAlwaysAllowFind": True, "DicomAlwaysAllowGet": True, "DicomAlwaysAllowMove": True,
            "DicomAlwaysAllowStore": True, "DicomCheckCalledAet": False, "DicomCheckModalityHost": False,
            "UnknownSopClassAccepted": True, "StorageCompression": False, "SaveJobs": False,
            "HttpCompressionEnabled": False, "LimitFindResults": 0, "LimitFindInstances": 0,
            "DicomScpTimeout": 30, "Plugins": [str(DICOMWEB_PLUGIN)],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True},
        }
        cfg.update(self.extra)
        return cfg

    def start(self, timeout: float = 15.0) -> "Orthanc":
        import httpx

        self.root.mkdir(parents=True, exist_ok=True)
        self.dicom_port = self.dicom_port or free_port()
        self.http_port = self.http_port or free_port()
        cfg_path = self.root / "orthanc.json"
        cfg_path.write_text(json.dumps(self.config(), indent=1))
        logdir = self.root / "logs"
        logdir.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            ["Orthanc", str(cfg_path), f"--logdir={logdir}"], env=NODELAY_ENV,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Orthanc exited with {self.proc.returncode}; logs in {logdir}")
            try:
                if httpx.get(f"{self.url}/system", timeout=0.5).status_code == 200:
                    wait_port(self.dicom_port, 5, self.proc)
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise TimeoutError("Orthanc did not answer GET /system")

    def stop(self) -> None:
        """Kill at once: storage is a throwaway temp folder (a graceful stop takes ~2 s)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def rest(self, method: str, path: str, **kw: Any) -> Any:
        import httpx

        r = httpx.request(method, self.url + path, timeout=60, **kw)
        r.raise_for_status()
        return r.json() if r.content and "json" in r.headers.get("content-type", "") else r.content

    def upload(self, files: Iterable[Path]) -> list[str]:
        """POST every file to /instances (one keep-alive connection); returns Orthanc instance ids."""
        import httpx

        ids = []
        with httpx.Client(base_url=self.url, timeout=60) as client:
            for f in files:
                r = client.post("/instances", content=f.read_bytes())
                r.raise_for_status()
                ids.append(r.json()["ID"])
        return ids

    def set_modality(self, name: str, aet: str, port: int, host: str = "127.0.0.1") -> None:
        self.rest("PUT", f"/modalities/{name}", json={"AET": aet, "Host": host, "Port": port})


def dicom_files(folder: Path) -> list[Path]:
    """Files of a shared-data folder that are DICOM images (skips Philips DIRFILE and the like)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name != "DIRFILE")


def dcmtk(tool: str, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """Run one dcmtk tool with TCP_NODELAY=1; output captured as text."""
    if shutil.which(tool, path=NODELAY_ENV["PATH"]) is None:
        raise RuntimeError(f"dcmtk tool {tool} not installed (apt-get install dcmtk)")
    return subprocess.run([tool, *args], env=NODELAY_ENV, capture_output=True, text=True,
                          timeout=timeout, check=check)


def start_storescp(port: int, out: Path, aet: str = "STORESCP", *extra: str) -> subprocess.Popen:
    """dcmtk storescp writing into ``out`` (one file per instance), listening on ``port``."""
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        ["storescp", "-aet", aet, "-od", str(out), "-pm", "-pdu", "131072", *extra, str(port)],
        env=NODELAY_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    wait_port(port, 10, proc)
    return proc


OUR_AET = "TELERAD"


def pixel_hash(data: bytes | Path) -> str:
    """sha256 of the PixelData value of a Part 10 file (bytes or path)."""
    from pydicom import dcmread

    ds = dcmread(BytesIO(data) if isinstance(data, bytes) else data, specific_tags=["PixelData", "SOPInstanceUID"])
    return hashlib.sha256(ds.PixelData).hexdigest()


def uid_of(path: Path) -> tuple[str, str]:
    from pydicom import dcmread

    ds = dcmread(path, stop_before_pixels=True, specific_tags=["SOPInstanceUID", "StudyInstanceUID"])
    return str(ds.StudyInstanceUID), str(ds.SOPInstanceUID)


@dataclass
class Study:
    uid: str
    files: list[Path]
    sop_uids: list[str]

    def hashes(self) -> dict[str, str]:
        return {uid: pixel_hash(p) for uid, p in zip(self.sop_uids, self.files)}


def study_in(folder: Path) -> Study:
    files = dicom_files(folder)
    pairs = [uid_of(f) for f in files]
    assert len({p[0] for p in pairs}) == 1, folder
    return Study(pairs[0][0], files, [p[1] for p in pairs])


@dataclass
class MemorySink:
    """A store callback keeping every instance in memory (thread-safe)."""

    fail_sops: set[str] = field(default_factory=set)  # raise for these (simulates a full disk)
    data: dict[str, bytes] = field(default_factory=dict)
    metas: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, data: bytes, meta):  # type: ignore[no-untyped-def]
        from app.network.received import StoreOutcome

        if meta.sop_instance_uid in self.fail_sops:
            raise OSError("simulated storage failure")
        with self.lock:
            status = "duplicate" if meta.sop_instance_uid in self.data else "imported"
            self.data[meta.sop_instance_uid] = data
            self.metas.append(meta)
        return StoreOutcome(status)

    def hashes(self) -> dict[str, str]:
        return {uid: pixel_hash(d) for uid, d in self.data.items()}


@dataclass
class DirSink(MemorySink):
    """Writes ``<folder>/<SOP Instance UID>.dcm`` with a naive path join, as a careless SCP would:
    a refusal must happen before any sink sees a hostile UID."""

    folder: Path = Path(".")

    def __call__(self, data: bytes, meta):  # type: ignore[no-untyped-def]
        (self.folder / f"{meta.sop_instance_uid}.dcm").write_bytes(data)
        return super().__call__(data, meta)


def rss_bytes() -> int:
    """Resident memory of this process (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _cert(subject: str, key, issuer_name, issuer_key, *, ca: bool, sans: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        alt = [x509.IPAddress(ipaddress.ip_address(s)) if s[0].isdigit() else x509.DNSName(s) for s in sans]
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def make_pki(folder: Path) -> dict[str, Path]:
    """Two CAs; a server and a client certificate from CA 1, a client certificate from CA 2 (PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}

    def write(name: str, cert, key) -> None:  # type: ignore[no-untyped-def]
        out[f"{name}.crt"] = folder / f"{name}.crt"
        out[f"{name}.crt"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        out[f"{name}.key"] = folder / f"{name}.key"
        out[f"{name}.key"].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))

    for ca in ("ca1", "ca2"):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _cert(f"telerad test {ca}", ca_key, None, None, ca=True)
        write(ca, ca_cert, ca_key)
        for leaf in (("server", "client") if ca == "ca1" else ("client",)):
            key = ec.generate_private_key(ec.SECP256R1())
            cert = _cert(f"{leaf}.{ca}", key, ca_cert.subject, ca_key, ca=False, sans=("127.0.0.1", "localhost"))
            write(f"{leaf}-{ca}", cert, key)
    return out
