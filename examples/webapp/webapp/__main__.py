"""``python -m webapp [--port 9000 ...]``: load the settings, serve until SIGTERM."""

from __future__ import annotations

import logging
import logging.config
import signal
import sys

import yaml

import envconf
from webapp.server import make_server
from webapp.settings import AppSettings


class Stop(Exception):
    """SIGTERM or SIGINT arrived: shut down cleanly."""


def setup_logging(settings: AppSettings) -> None:
    """Use the rendered logging config when there is one, else a plain stderr log."""
    if settings.logging_config is not None:
        with open(settings.logging_config, encoding="utf-8") as handle:
            logging.config.dictConfig(yaml.safe_load(handle))
    else:
        logging.basicConfig(level=settings.log_level, format="%(levelname)s %(message)s")
    if settings.debug:
        logging.getLogger().setLevel(logging.DEBUG)


def main(argv: list[str]) -> int:
    try:
        settings = AppSettings.load(argv=argv)
    except envconf.ConfigError as exc:
        print(f"webapp: {exc}", file=sys.stderr)
        return 1
    setup_logging(settings)
    log = logging.getLogger("webapp")
    server = make_server(settings)

    # As PID 1 in a container there is no default SIGTERM action: handle it, or
    # `docker stop` waits its whole timeout and then kills the app. Under `envconf
    # render --watch` a changed template is re-rendered and the app gets SIGHUP: re-read
    # the rendered logging config instead of dying (SIGHUP's default). The handlers only
    # note the signal; the serve loop acts on it (see Server).
    def on_signal(signum: int) -> None:
        if signum == signal.SIGHUP:
            setup_logging(settings)
            log.info("SIGHUP received, reloaded %s", settings.logging_config or "logging defaults")
        else:
            raise Stop(signal.Signals(signum).name)

    server.on_signal = on_signal
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, server.note_signal)
    host, port = server.server_address[:2]
    log.info("listening on %s:%s", host, port)
    for key, origin in envconf.explain(settings).items():
        log.debug("setting %s <- %s", key, origin)
    try:
        server.serve_forever(poll_interval=0.1)
    except Stop as stop:
        log.info("%s received, shutting down", stop)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
