"""Tests for envconf.render.wait, against real servers on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from envconf.errors import UsageError
from envconf.render.wait import WaitError, parse_target, wait_for


class Handler(BaseHTTPRequestHandler):
    """``/ok`` 200, ``/down`` 503, ``/moved`` 302 elsewhere, ``/flaky`` 503 once then 200,
    ``/slow?...`` 200 after 0.4 s."""

    flaky_calls = 0
    auth_seen: list[str | None] = []  # noqa: RUF012 - shared with the test on purpose

    def do_GET(self) -> None:
        Handler.auth_seen.append(self.headers.get("Authorization"))
        status = {"/ok": 200, "/down": 503, "/moved": 302, "/missing": 404}.get(self.path, 0)
        if self.path == "/flaky":
            Handler.flaky_calls += 1
            status = 200 if Handler.flaky_calls > 1 else 503
        elif self.path.startswith("/slow"):
            time.sleep(0.4)
            status = 200
        self.send_response(status or 500)
        if status == 302:
            self.send_header("Location", "http://127.0.0.1:1/nowhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_base() -> Iterator[str]:
    Handler.flaky_calls = 0
    Handler.auth_seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def later(delay: float, action: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), action()), daemon=True)
    thread.start()
    return thread


class Log:
    """Collects log lines and checks they are written from the calling thread."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.thread = threading.current_thread()

    def __call__(self, line: str) -> None:
        assert threading.current_thread() is self.thread
        self.lines.append(line)


def test_tcp_target_that_starts_listening_later(tmp_path: Path) -> None:
    port = free_port()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def listen() -> None:
        listener.bind(("127.0.0.1", port))
        listener.listen()

    later(0.1, listen)
    log = Log()
    try:
        wait_for([f"tcp://127.0.0.1:{port}"], timeout=5, log=log)
    finally:
        listener.close()
    assert log.lines[0] == f"waiting up to 5 s for tcp://127.0.0.1:{port}"
    assert log.lines[1].startswith(f"tcp://127.0.0.1:{port} is up after ")


def test_http_target_up_on_2xx_and_3xx_without_following_redirects(http_base: str) -> None:
    log = Log()
    wait_for([f"{http_base}/ok", f"{http_base}/moved"], timeout=5, log=log)
    assert len(log.lines) == 3


def test_http_target_is_retried_until_it_answers_2xx(http_base: str) -> None:
    wait_for([f"{http_base}/flaky"], timeout=5, log=Log())
    assert Handler.flaky_calls == 2


def test_file_target_created_later_by_another_thread(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    later(0.1, ready.touch)
    start = time.monotonic()
    wait_for([f"file://{ready}"], timeout=5, log=Log())
    assert 0.1 < time.monotonic() - start < 2


def test_targets_are_awaited_in_parallel(http_base: str) -> None:
    start = time.monotonic()
    wait_for([f"{http_base}/slow?{i}" for i in range(4)], timeout=5, log=Log())
    assert time.monotonic() - start < 1.2  # not 4 x 0.4 s one after another


def test_timeout_names_every_target_that_never_came_up_with_its_last_error(
    http_base: str, tmp_path: Path
) -> None:
    closed = free_port()
    targets = [
        f"tcp://127.0.0.1:{closed}",
        f"{http_base}/down",
        f"{http_base}/ok",
        f"{http_base}/missing",
        f"file://{tmp_path}/never",
    ]
    start = time.monotonic()
    with pytest.raises(WaitError) as info:
        wait_for(targets, timeout=0.4, log=Log())
    assert time.monotonic() - start < 1.5
    assert str(info.value).splitlines() == [
        "timed out after 0.4 s waiting for 4 of 5 --wait targets:",
        f"  tcp://127.0.0.1:{closed}: connection refused",
        f"  {http_base}/down: HTTP 503 Service Unavailable",
        f"  {http_base}/missing: HTTP 404 Not Found",
        f"  file://{tmp_path}/never: does not exist",
    ]
    assert info.value.exit_code == 1


def test_timeout_zero_checks_each_target_once(tmp_path: Path, http_base: str) -> None:
    wait_for([f"file://{tmp_path}", f"{http_base}/ok"], timeout=0, log=Log())
    with pytest.raises(WaitError, match="does not exist"):
        wait_for([f"file://{tmp_path}/missing"], timeout=0, log=Log())


def test_unresolvable_host_is_reported() -> None:
    with pytest.raises(WaitError, match=r"cannot resolve host 'no-such-host\.invalid'"):
        wait_for(["tcp://no-such-host.invalid:80"], timeout=0.3, log=Log())


def test_password_is_sent_but_never_logged(http_base: str) -> None:
    url = http_base.replace("://", "://admin:s3cret@") + "/ok"
    log = Log()
    wait_for([url], timeout=5, log=log)
    assert Handler.auth_seen == ["Basic YWRtaW46czNjcmV0"]
    assert all("s3cret" not in line for line in log.lines)
    assert "admin:***@" in log.lines[0]


def test_every_malformed_target_is_named_before_any_wait() -> None:
    bad = ["db:5432", "tcp://db", "ftp://host/x", "file://relative/path", "http://:80/"]
    with pytest.raises(UsageError) as info:
        wait_for([*bad, "tcp://127.0.0.1:1"], timeout=5, log=Log())
    lines = str(info.value).splitlines()
    assert len(lines) == len(bad)
    for line, url in zip(lines, bad, strict=True):
        assert line.startswith(f"--wait {url!r}: ")
    assert info.value.exit_code == 2


def test_a_malformed_target_with_a_password_is_redacted() -> None:
    with pytest.raises(UsageError) as info:
        wait_for(["tcp://user:hunter2@db"], timeout=5, log=Log())
    assert "hunter2" not in str(info.value)
    assert "user:***@db" in str(info.value)


def test_no_targets_returns_without_logging() -> None:
    log = Log()
    wait_for([], timeout=5, log=log)
    assert log.lines == []


@pytest.mark.parametrize(
    ("url", "kind", "host", "port", "path"),
    [
        ("tcp://db:5432", "tcp", "db", 5432, ""),
        ("tcp://[::1]:5432", "tcp", "::1", 5432, ""),
        ("http://api", "http", "api", 80, "/"),
        ("https://api:8443/health?full=1", "https", "api", 8443, "/health?full=1"),
        ("file:///run/ready%20now", "file", "", 0, "/run/ready now"),
        ("file://localhost/run/ready", "file", "", 0, "/run/ready"),
    ],
)
def test_parse_target(url: str, kind: str, host: str, port: int, path: str) -> None:
    target = parse_target(url)
    assert (target.kind, target.host, target.port, target.path) == (kind, host, port, path)
