"""``--wait URL``: wait for dependencies before starting the app, like dockerize.

Targets are ``tcp://host:port`` (a TCP connection is accepted), ``http://...`` and
``https://...`` (a GET is answered with a 2xx or 3xx status; redirects are not followed,
since a redirect already shows the server is answering, and certificates are verified)
and ``file:///path`` (the path exists). All targets are polled in parallel, one thread
each, and a single timeout covers them all. Only the standard library is imported here,
and the HTTP modules only when an HTTP target is given: this runs on every container
start.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from envconf.errors import EnvconfError, UsageError
from envconf.redact import mask_url_passwords

__all__ = ["ATTEMPT_TIMEOUT", "Target", "WaitError", "parse_target", "wait_for"]

#: The longest one connection attempt or HTTP request may take.
ATTEMPT_TIMEOUT = 2.0
_MIN_ATTEMPT_TIMEOUT = 0.5
_FIRST_DELAY = 0.2
_MAX_DELAY = 1.0


class WaitError(EnvconfError):
    """Some ``--wait`` targets did not come up before the timeout."""


@dataclass(frozen=True)
class Target:
    """One validated ``--wait`` target; ``shown`` is the URL with any password hidden."""

    url: str
    shown: str
    kind: Literal["tcp", "http", "https", "file"]
    host: str = ""
    port: int = 0
    path: str = ""
    username: str | None = None
    password: str | None = None


def parse_target(url: str) -> Target:
    """Validate one ``--wait`` URL.

    Raises:
        ValueError: the URL is malformed or uses an unsupported scheme; the message
            does not repeat the URL.
    """
    shown = mask_url_passwords(url)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError("a file URL needs three slashes: file:///absolute/path")
        path = unquote(parts.path)
        if not path.startswith("/"):
            raise ValueError("a file URL needs an absolute path: file:///absolute/path")
        return Target(url, shown, "file", path=path)
    if scheme not in ("tcp", "http", "https"):
        raise ValueError("unsupported scheme (expected tcp://, http://, https:// or file://)")
    host = parts.hostname or ""
    if not host:
        raise ValueError("no host given")
    if scheme == "tcp":
        if port is None:
            raise ValueError("no port given (expected tcp://host:port)")
        if parts.path not in ("", "/") or parts.query:
            raise ValueError("a tcp URL has only a host and a port")
        return Target(url, shown, "tcp", host=host, port=port)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(
        url,
        shown,
        "http" if scheme == "http" else "https",
        host=host,
        port=port or (80 if scheme == "http" else 443),
        path=path,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def wait_for(targets: Sequence[str], timeout: float, log: Callable[[str], None]) -> None:
    """Return once every target is up, polling them all in parallel.

    Every target is validated before any is polled. ``timeout`` (seconds) covers all
    waits together; each target gets at least one attempt, even with a timeout of 0.
    ``log`` is called from this thread only: once at the start and once per target
    that comes up.

    Raises:
        UsageError: some targets are malformed (all are named).
        WaitError: some targets were not up in time; each is named with its last error.
    """
    if timeout < 0:
        raise ValueError("timeout must not be negative")
    parsed = _parse_all(targets)
    if not parsed:
        return
    start = time.monotonic()
    deadline = start + timeout
    events: queue.SimpleQueue[tuple[int, str | None]] = queue.SimpleQueue()
    stop = threading.Event()
    log(f"waiting up to {timeout:g} s for {', '.join(t.shown for t in parsed)}")
    for index, target in enumerate(parsed):
        threading.Thread(
            target=_poll,
            args=(index, target, deadline, stop, events),
            name=f"envconf-wait-{index}",
            daemon=True,  # a hung DNS lookup must not keep envconf alive
        ).start()

    pending = set(range(len(parsed)))
    tried: set[int] = set()
    last_error: dict[int, str] = {}
    try:
        while pending:
            now = time.monotonic()
            limit = deadline
            if now >= deadline:
                # Past the deadline, still collect first attempts (a timeout of 0 means
                # "check once"), but never for longer than one attempt may take.
                limit = deadline + ATTEMPT_TIMEOUT
                if pending <= tried or now >= limit:
                    break
            try:
                index, error = events.get(timeout=limit - now)
            except queue.Empty:
                continue
            tried.add(index)
            if error is None:
                pending.discard(index)
                log(f"{parsed[index].shown} is up after {time.monotonic() - start:.1f} s")
            else:
                last_error[index] = error
    finally:
        stop.set()
    if pending:
        lines = [
            f"  {parsed[i].shown}: {last_error.get(i, 'no answer yet')}" for i in sorted(pending)
        ]
        raise WaitError(
            "\n".join(
                [
                    f"timed out after {timeout:g} s waiting for {len(pending)} of "
                    f"{len(parsed)} --wait target{'s' if len(parsed) != 1 else ''}:",
                    *lines,
                ]
            )
        )


def _parse_all(targets: Sequence[str]) -> list[Target]:
    parsed: list[Target] = []
    problems: list[str] = []
    for url in targets:
        try:
            parsed.append(parse_target(url))
        except ValueError as exc:
            problems.append(f"--wait {mask_url_passwords(url)!r}: {exc}")
    if problems:
        raise UsageError("\n".join(problems))
    return parsed


def _poll(
    index: int,
    target: Target,
    deadline: float,
    stop: threading.Event,
    events: queue.SimpleQueue[tuple[int, str | None]],
) -> None:
    """Try ``target`` until it is up, the deadline passes or ``stop`` is set."""
    delay = _FIRST_DELAY
    while True:
        budget = min(ATTEMPT_TIMEOUT, deadline - time.monotonic())
        error = _attempt(target, max(budget, _MIN_ATTEMPT_TIMEOUT))
        events.put((index, error))
        remaining = deadline - time.monotonic()
        if error is None or remaining <= 0 or stop.wait(min(delay, remaining)):
            return
        delay = min(delay * 2, _MAX_DELAY)


def _attempt(target: Target, timeout: float) -> str | None:
    """Return ``None`` if ``target`` is up, else why not."""
    try:
        if target.kind == "file":
            Path(target.path).stat()
        elif target.kind == "tcp":
            socket.create_connection((target.host, target.port), timeout=timeout).close()
        else:
            return _http_get(target, timeout)
    except FileNotFoundError:
        return "does not exist"
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except socket.gaierror as exc:
        return f"cannot resolve host {target.host!r} ({exc.strerror})"
    except ConnectionRefusedError:
        return "connection refused"
    except OSError as exc:
        return _describe(exc)
    except Exception as exc:  # a thread must report, never die silently
        return f"{type(exc).__name__}: {exc}"
    return None


def _http_get(target: Target, timeout: float) -> str | None:
    import http.client  # only here: its imports cost start-up time

    connection: http.client.HTTPConnection
    if target.kind == "https":
        import ssl

        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    headers = {"User-Agent": "envconf-wait", "Accept": "*/*"}
    if target.username is not None:
        import base64

        token = f"{target.username}:{target.password or ''}".encode()
        headers["Authorization"] = f"Basic {base64.b64encode(token).decode('ascii')}"
    try:
        connection.request("GET", target.path, headers=headers)
        response = connection.getresponse()
        status, reason = response.status, response.reason
    except http.client.HTTPException as exc:
        return f"invalid HTTP response ({type(exc).__name__}: {exc})"
    finally:
        connection.close()
    if 200 <= status < 400:
        return None
    return f"HTTP {status} {reason}".rstrip()


def _describe(exc: OSError) -> str:
    if exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    return str(exc)
