"""A hostile device in its own process: ``python -m tests.core.hostile_sender PORT SOURCE FILE`` sends
each request of FILE (a pickled list of bytes) from address SOURCE, 20 connections at a time, and waits
for each answer; prints ``started`` once the first connections are open and ``done`` at the end."""

from __future__ import annotations

import pickle
import socket
import sys
import threading

CONCURRENT = 20


def send_and_wait(rq: bytes, port: int, source: str = "127.0.0.1") -> bytes:
    """Send ``rq`` from ``source``, return what the server answered before it closed (at most 3 s)."""
    with socket.create_connection(("127.0.0.1", port), timeout=3, source_address=(source, 0)) as sock:
        try:
            sock.sendall(rq)
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        except OSError:
            return b""
    return answer


def main(port: int, source: str, requests: list[bytes]) -> None:
    gate = threading.Semaphore(CONCURRENT)

    def one(data: bytes) -> None:
        with gate:
            try:
                send_and_wait(data, port, source)
            except OSError:
                pass

    workers = [threading.Thread(target=one, args=(r,)) for r in requests]
    for i, w in enumerate(workers):
        w.start()
        if i == CONCURRENT:
            print("started", flush=True)
    for w in workers:
        w.join(60)
    print("done", flush=True)


if __name__ == "__main__":
    with open(sys.argv[3], "rb") as f:
        main(int(sys.argv[1]), sys.argv[2], pickle.load(f))
