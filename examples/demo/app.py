"""A tiny app: load settings from argv, env, files and secrets, then use them."""

from __future__ import annotations

import sys

from settings import AppSettings

import envconf


def main() -> int:
    try:
        settings = AppSettings.load(argv=sys.argv[1:])
    except envconf.ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"listening on {settings.listen} with {settings.workers} workers")
    print(f"database {settings.db.user}@{settings.db.host}:{settings.db.port}")
    for key, origin in envconf.explain(settings).items():
        print(f"  {key:<16} <- {origin}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
