"""Test-only app for the `envconf render --watch` container case (watch.sh).

examples/webapp reads its config once and has no SIGHUP handler, so this stands in for an
app that reloads: it reads the rendered file at start and again only on SIGHUP (never per
request), and serves what it last read. A changed answer therefore proves that envconf
re-rendered the file *and* signalled the app. GET / answers JSON with the content, how
many SIGHUPs arrived, and the app's PID and parent PID (envconf, PID 1).

    python live_app.py FILE [PORT]

Standard library only; SIGTERM/SIGINT end it with status 0.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

PATH = sys.argv[1]
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8000
STATE: dict[str, Any] = {"reloads": 0}


class Stop(Exception):
    pass


def read() -> None:
    with open(PATH, encoding="utf-8") as handle:
        STATE["content"] = handle.read()


PENDING: list[int] = []


def note(signum: int, frame: FrameType | None) -> None:
    """Only record the signal: a handler that printed could interrupt another print."""
    PENDING.append(signum)


class Server(ThreadingHTTPServer):
    def service_actions(self) -> None:
        while PENDING:
            signum = PENDING.pop(0)
            if signum != signal.SIGHUP:
                raise Stop(signal.Signals(signum).name)
            STATE["reloads"] += 1
            read()
            print(
                f"live_app: SIGHUP #{STATE['reloads']}: re-read {PATH}", file=sys.stderr, flush=True
            )


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = {**STATE, "pid": os.getpid(), "ppid": os.getppid()}
        data = json.dumps(body).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> int:
    read()
    for signum in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, note)
    server = Server(("0.0.0.0", PORT), Handler)
    print(f"live_app: serving {PATH} on port {PORT}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except Stop as stop:
        print(f"live_app: {stop} received, shutting down", file=sys.stderr, flush=True)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
