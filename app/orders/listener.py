"""The MLLP server: an asyncio loop (python-hl7's ``hl7.mllp`` streams) in one daemon thread.

Each message is read within ``read_timeout`` (a connection idle longer is closed), a connection lives at most
``connection_deadline``, a block larger than ``max_bytes`` gets an AR and the connection is closed, and at
most ``max_connections`` peers are served at once. Messages are applied one at a time on a worker thread."""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Optional

from app.orders.ack import ack_unparsed
from app.orders.receive import Outcome

log = logging.getLogger(__name__)
Handler = Callable[[bytes], Outcome]


@dataclass(frozen=True)
class ListenerLimits:
    max_bytes: int = 1 << 20
    read_timeout: float = 60.0
    connection_deadline: float = 3600.0
    max_connections: int = 8


class Hl7Listener:
    """``with Hl7Listener(handler, host, port) as listener:`` serves until the block ends (or :meth:`stop`);
    ``port`` is the bound one (0 picks a free port)."""

    def __init__(self, handler: Handler, host: str = "0.0.0.0", port: int = 2575, *,
                 tls: Optional[ssl.SSLContext] = None, limits: ListenerLimits = ListenerLimits()) -> None:
        self.handler, self.host, self.port, self.tls, self.limits = handler, host, port, tls, limits
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._error: Optional[BaseException] = None
        self._connections = 0
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="hl7-apply")

    def __enter__(self) -> "Hl7Listener":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Bind and serve in a background thread; OSError (port in use, TLS) is raised here."""
        self._thread = threading.Thread(target=self._run, name="hl7-listener", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error

    def serve(self, cancel: threading.Event) -> None:
        """Serve until ``cancel`` is set (blocking)."""
        with self:
            while not cancel.wait(0.5) and not self._stopped.is_set():
                pass

    def stop(self) -> None:
        """Stop accepting, close the connections, wait for the message being applied. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(self._stop_event.set)
            thread.join(10.0)
        self._worker.shutdown(wait=True)

    # -- the loop ------------------------------------------------------------------------------
    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # reported by start()
            self._error = exc
        finally:
            self._ready.set()
            self._stopped.set()
            loop.close()

    async def _main(self) -> None:
        from hl7.mllp import start_hl7_server

        self._stop_event = asyncio.Event()
        server = await start_hl7_server(self._client, self.host, self.port, limit=self.limits.max_bytes,
                                        ssl=self.tls)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        log.info("HL7 listener on %s:%d%s", self.host, self.port, " (TLS)" if self.tls else "")
        async with server:
            await self._stop_event.wait()
            server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._connections >= self.limits.max_connections:
            log.warning("HL7 connection refused: %d already open", self._connections)
            writer.close()
            return
        self._connections += 1
        try:
            await asyncio.wait_for(self._serve(reader, writer), self.limits.connection_deadline)
        except (asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("HL7 connection failed")
        finally:
            self._connections -= 1
            writer.close()

    async def _serve(self, reader: "asyncio.StreamReader", writer: "asyncio.StreamWriter") -> None:
        from hl7.mllp import InvalidBlockError

        loop = asyncio.get_running_loop()
        while True:
            try:
                block = await asyncio.wait_for(reader.readblock(), self.limits.read_timeout)  # type: ignore[attr-defined]
            except InvalidBlockError:
                await self._answer(writer, ack_unparsed("AR", "not an MLLP block (no start byte 0x0B)"))
                return
            except ValueError:  # the stream limit: the block is larger than max_bytes
                reason = f"message larger than {self.limits.max_bytes} bytes"
                await self._answer(writer, ack_unparsed("AR", reason, "207"))
                return
            outcome = await loop.run_in_executor(self._worker, self.handler, bytes(block))
            await self._answer(writer, outcome.ack)

    @staticmethod
    async def _answer(writer: "asyncio.StreamWriter", ack: bytes) -> None:
        writer.writeblock(ack)  # type: ignore[attr-defined]
        await writer.drain()
