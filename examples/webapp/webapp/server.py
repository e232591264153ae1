"""The HTTP service: ``GET /`` shows some settings (never the secret), ``GET /healthz``."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from webapp.settings import AppSettings

log = logging.getLogger("webapp")
_COUNTER_LOCK = threading.Lock()


def count_visit(data_dir: Path) -> int:
    """Add one to the visit counter kept in the data dir; survives restarts on a volume."""
    path = data_dir / "visits"
    with _COUNTER_LOCK:
        try:
            visits = int(path.read_text(encoding="ascii") or "0")
        except (FileNotFoundError, ValueError):
            visits = 0
        visits += 1
        # Write a temporary file and rename it: a crash never leaves a half-written counter.
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".visits.")
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(str(visits))
        os.replace(tmp, path)
    return visits


def public_view(settings: AppSettings, visits: int) -> dict[str, Any]:
    """What ``GET /`` shows: useful settings, never a secret."""
    return {
        "greeting": settings.greeting,
        "log_level": settings.log_level,
        "database": {
            "host": settings.db.host,
            "port": settings.db.port,
            "name": settings.db.name,
            "user": settings.db.user,
            "password_set": settings.db.password is not None,
        },
        "visits": visits,
    }


def make_handler(settings: AppSettings) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to ``settings``."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "webapp/1"

        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._send(200, {"status": "ok"})
            elif self.path == "/":
                visits = count_visit(settings.data_dir)
                self._send(200, public_view(settings, visits))
            else:
                self._send(404, {"error": "not found"})

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, indent=2).encode() + b"\n"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            if settings.debug:
                log.debug("%s %s", self.address_string(), format % args)

    return Handler


class Server(ThreadingHTTPServer):
    """The HTTP server; it also acts on the signals that its handlers only noted.

    A signal handler runs between two bytecodes of the main thread, possibly inside the
    flush of a log line; one that logs or raises there can fail with "reentrant call"
    or lose the line. So :meth:`note_signal` only records the signal and the serve loop
    calls ``on_signal`` for it at its next turn (within ``poll_interval``).
    """

    def __init__(self, settings: AppSettings) -> None:
        super().__init__((settings.host, settings.port), make_handler(settings))
        self.pending_signals: list[int] = []
        self.on_signal: Callable[[int], None] = lambda signum: None

    def note_signal(self, signum: int, frame: FrameType | None) -> None:
        """Record ``signum`` for the serve loop (a signal handler that cannot interfere)."""
        self.pending_signals.append(signum)

    def service_actions(self) -> None:
        while self.pending_signals:
            self.on_signal(self.pending_signals.pop(0))


def make_server(settings: AppSettings) -> Server:
    """Bind the HTTP server (port 0 picks a free port)."""
    return Server(settings)
