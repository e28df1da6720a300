"""A real RFC 5425 syslog-over-TLS server for the tests: Debian's rsyslogd (imtcp + gtls), foreground, own config."""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

from tests.core.net_peers import wait_port

CONFIG = """\
global(workDirectory="{work}" maxMessageSize="256k"
       DefaultNetstreamDriver="gtls"
       DefaultNetstreamDriverCAFile="{ca}"
       DefaultNetstreamDriverCertFile="{cert}"
       DefaultNetstreamDriverKeyFile="{key}")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/certvalid"
       MaxSessions="20")
input(type="imtcp" address="127.0.0.1" port="{port}")
template(name="audit" type="string" string="%msgid% %app-name% %msg%\\n")
action(type="omfile" file="{out}" template="audit")
"""


class Rsyslog:
    """``rsyslogd -n -f CONF -i PID`` listening with TLS (client certificates from ``ca``) on ``port``;
    every message goes to :attr:`output` as ``MSGID APP-NAME MSG`` lines."""

    def __init__(self, folder: Path, port: int, ca: Path, cert: Path, key: Path) -> None:
        if shutil.which("rsyslogd") is None:
            raise RuntimeError("rsyslogd is missing: apt-get install rsyslog rsyslog-gnutls (Makefile APT_PACKAGES)")
        self.folder, self.port = Path(folder), port
        (self.folder / "work").mkdir(parents=True, exist_ok=True)
        self.output = self.folder / "received.log"
        self.conf = self.folder / "rsyslog.conf"
        self.conf.write_text(CONFIG.format(work=self.folder / "work", ca=ca, cert=cert, key=key, port=port,
                                           out=self.output))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "Rsyslog":
        log = open(self.folder / "rsyslogd.stderr", "ab")
        self.proc = subprocess.Popen(["rsyslogd", "-n", "-f", str(self.conf), "-i", str(self.folder / "rsyslogd.pid")],
                                     stdout=log, stderr=log)
        log.close()
        wait_port(self.port, 15.0, self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def lines(self) -> list[str]:
        """The messages received so far (one per line)."""
        if not self.output.exists():
            return []
        return [line for line in self.output.read_text(encoding="utf-8", errors="replace").splitlines() if line]
