"""``python -m webapp.probe``: GET a URL every few seconds and print what came back.

The second service of the Swarm example: it reaches the app over an overlay network
that another stack created. It has its own, tiny settings class (prefix ``PROBE_``).
"""

from __future__ import annotations

import signal
import sys
import time
import urllib.error
import urllib.request

from pydantic import Field

import envconf


class ProbeSettings(envconf.Settings):
    """Settings of the probe client."""

    model_config = envconf.SettingsConfigDict(env_prefix="PROBE_", config_files=[])

    url: str = Field(default="http://webapp:8000/", description="What to GET")
    interval: float = Field(default=5.0, gt=0, description="Seconds between requests")
    count: int = Field(default=0, ge=0, description="Stop after this many requests; 0: never")
    timeout: float = Field(default=3.0, gt=0, description="Seconds to wait for an answer")


def probe_once(settings: ProbeSettings) -> str:
    """One request; returns a one-line report."""
    try:
        with urllib.request.urlopen(settings.url, timeout=settings.timeout) as response:
            body = response.read(200).decode("utf-8", "replace")
            return f"{response.status} {' '.join(body.split())}"
    except (urllib.error.URLError, OSError) as exc:
        return f"error {exc}"


def main(argv: list[str]) -> int:
    try:
        settings = ProbeSettings.load(argv=argv)
    except envconf.ConfigError as exc:
        print(f"probe: {exc}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    done = 0
    while settings.count == 0 or done < settings.count:
        if done:
            time.sleep(settings.interval)
        print(f"GET {settings.url} -> {probe_once(settings)}", flush=True)
        done += 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
