"""``envconf render``'s options: flags over ``ENVCONF_*`` variables, checked and typed.

Every option may also come from an ``ENVCONF_<NAME>`` variable; a flag wins over it.
This runs at every container start: what only some options need (``re`` for --filter,
``math`` for --timeout, ``signal`` and ``shlex`` for --watch) is imported by them.
"""

from __future__ import annotations

import sys

from envconf.errors import UsageError
from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

__all__ = ["USAGE", "RenderOptions", "parse_options", "parse_signal", "split_command"]

USAGE = """usage: envconf render [options] [-- COMMAND ARGS...]

Render config templates from the environment, write them atomically, then exec COMMAND.

options (each also from an ENVCONF_* variable; flags win):
  -t, --template SRC[:DEST]  a template (repeatable)                  ENVCONF_TEMPLATE (a,b)
  --template-dir DIR         render every template under DIR          ENVCONF_TEMPLATE_DIR
  --output-dir DIR           where rendered files go                  ENVCONF_OUTPUT_DIR
  --engine jinja|envsubst    override the engine chosen by suffix     ENVCONF_ENGINE
  --filter REGEX             envsubst: only replace names matching    ENVCONF_FILTER
  --strict                   envsubst: undefined ${VAR} is an error;  ENVCONF_STRICT
                             an empty --template-dir is an error
  --mode OCTAL               permissions of written files             ENVCONF_MODE
  --fsync                    sync each file and directory to disk     ENVCONF_FSYNC
                             (for outputs kept on a volume; see below)
  --in-process               run a Python COMMAND (python -m app,     ENVCONF_IN_PROCESS
                             python app.py, a console script of this
                             Python) in this process, not a new one
  --check                    render and report, write nothing         ENVCONF_CHECK
  --format text|json         --check: the report as JSON on stdout    ENVCONF_FORMAT
  --settings MODULE:CLASS    typed settings, as `settings` in Jinja   ENVCONF_SETTINGS
  --user USER[:GROUP]        drop privileges before exec              ENVCONF_USER
  --wait URL                 tcp://h:p, http(s)://..., file:///path   ENVCONF_WAIT (repeatable)
  --timeout SECONDS          for all waits together (default 30)      ENVCONF_TIMEOUT
  --cache-dir DIR            keep compiled Jinja templates in DIR     ENVCONF_CACHE_DIR
                             (opt-in; yours alone, 0700; skipped when
                             it cannot be written, e.g. read-only root)
  --init                     stay PID 1 as a tiny init (see below)    ENVCONF_INIT
  --watch                    --init, and re-render on input changes   ENVCONF_WATCH
  --reload-signal SIG        --watch: tell the app by this signal     ENVCONF_RELOAD_SIGNAL
                             (default HUP; HUP, SIGUSR1, 10, ...)
  --reload-command CMD       --watch: run CMD instead (split like a   ENVCONF_RELOAD_COMMAND
                             shell would, but no shell runs it)
  --poll-interval SECONDS    --watch: check inputs this often         ENVCONF_POLL_INTERVAL
                             (default 1; with watchfiles installed,
                             events wake it and this is a safety net)
  -h, --help                 show this message

Suffixes: .j2 .jinja .jinja2 -> Jinja2; .template .tmpl -> envsubst.
Writes are atomic either way (a reader or a killed render never leaves a mixed file);
--fsync also makes them durable across a power loss, at one sync per file: worth it only
for outputs on a volume that outlives the container and is not rendered at each start.
Exit status: the app's own after exec; 1 render problem; 2 usage; 126/127 exec failure.

--init (like `docker run --init` / tini): instead of exec'ing COMMAND, envconf starts it
as a child in its own process group (foreground on a terminal; no new session), forwards
every signal it gets to it (not SIGCHLD, SIGPIPE, SIGXFSZ, SIGTTIN/SIGTTOU or faults),
reaps every zombie, orphans included, and exits with the app's status (128+N when signal N
killed it). With --user only the app drops privileges; envconf stays root.

--watch also watches the templates, the VAR_FILE targets they use, the secrets dir and,
with --settings, that class's config files, env files and secrets dir. On a change (a
burst counts once: 0.4 s of quiet, or 2 poll intervals if shorter) it re-renders with
the same all-or-nothing rules; if some output's bytes differ it replaces them and sends
the reload signal (or runs the reload command); if the render fails, nothing changes,
the app keeps running and the problems go to stderr; unchanged output sends nothing.
Kubernetes' ConfigMap/Secret updates (the ..data link swap) are seen. watchfiles (pip
install 'envconf[watch]') is used when installed, else polling; the log says which.
"""

_VALUE_OPTIONS = {
    "-t": "template",
    "--template": "template",
    "--template-dir": "template_dir",
    "--output-dir": "output_dir",
    "--engine": "engine",
    "--filter": "filter",
    "--mode": "mode",
    "--settings": "settings",
    "--user": "user",
    "--wait": "wait",
    "--timeout": "timeout",
    "--reload-signal": "reload_signal",
    "--reload-command": "reload_command",
    "--poll-interval": "poll_interval",
    "--cache-dir": "cache_dir",
    "--format": "format",
}
_FLAG_OPTIONS = {
    "--strict": "strict",
    "--check": "check",
    "--init": "init",
    "--watch": "watch",
    "--fsync": "fsync",
    "--in-process": "in_process",
}
_REPEATABLE = {"template", "wait"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class RenderOptions:
    """Everything ``envconf render`` was asked to do.

    A plain class (not a dataclass): the dataclasses module costs milliseconds of
    start-up, paid at every container start.
    """

    template_dir: str | None = None
    output_dir: str | None = None
    engine: str | None = None
    filter: str | None = None
    strict: bool = False
    mode: int | None = None
    check: bool = False
    fsync: bool = False
    in_process: bool = False
    settings: str | None = None
    user: str | None = None
    timeout: float = 30.0
    init: bool = False
    watch: bool = False
    reload_signal: int | None = None
    reload_command: str | None = None
    poll_interval: float | None = None
    cache_dir: str | None = None
    format: str = "text"

    def __init__(self, command: list[str] | None = None, **values: Any) -> None:
        self.template: list[str] = []
        self.wait: list[str] = []
        self.command: list[str] = list(command or [])
        for name, value in values.items():
            if name not in ("template", "wait") and not hasattr(RenderOptions, name):
                raise TypeError(f"RenderOptions has no option {name!r}")
            setattr(self, name, value)

    def __repr__(self) -> str:
        return f"RenderOptions({vars(self)!r})"


def _split(value: str) -> list[str]:
    return value.replace(",", " ").split()


def parse_options(argv: Sequence[str], env: Mapping[str, str]) -> RenderOptions:
    """Combine ``ENVCONF_*`` variables and flags (flags win) into options.

    Raises:
        UsageError: unknown option, missing or malformed value.
    """
    raw: dict[str, Any] = {}
    for name in (*set(_VALUE_OPTIONS.values()), *_FLAG_OPTIONS.values()):
        value = env.get("ENVCONF_" + name.upper())
        if value is None:
            continue
        raw[name] = _split(value) if name in _REPEATABLE else value
    from_flags: dict[str, Any] = {}
    args = list(argv)
    command: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            command = args[i:]
            break
        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            raise SystemExit(0)
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _FLAG_OPTIONS:
            from_flags[_FLAG_OPTIONS[name]] = inline if eq else "true"
            continue
        key = _VALUE_OPTIONS.get(name)
        if key is None:
            if not arg.startswith("-"):
                command = args[i - 1 :]
                break
            raise UsageError(
                f"render: unknown option {name}{_did_you_mean(name)}; see 'envconf render --help'"
            )
        if not eq:
            if i >= len(args):
                raise UsageError(f"render: option {name} needs a value")
            inline = args[i]
            i += 1
        if key in _REPEATABLE:
            from_flags.setdefault(key, []).append(inline)
        else:
            from_flags[key] = inline
    raw.update(from_flags)
    return _typed(raw, command)


def _did_you_mean(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, [*_VALUE_OPTIONS, *_FLAG_OPTIONS], n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _typed(raw: dict[str, Any], command: list[str]) -> RenderOptions:
    options = RenderOptions(command=command)
    options.template = list(raw.get("template", []))
    options.wait = list(raw.get("wait", []))
    for key in ("template_dir", "output_dir", "settings", "user", "cache_dir"):
        setattr(options, key, raw.get(key) or None)
    for key in ("strict", "check", "init", "watch", "fsync", "in_process"):
        text = str(raw.get(key, "")).strip().lower()
        if text not in _TRUE | _FALSE:
            flag = "--" + key.replace("_", "-")
            raise UsageError(f"render: {flag} / ENVCONF_{key.upper()} must be true or false")
        setattr(options, key, text in _TRUE)
    engine = raw.get("engine") or None
    if engine is not None and engine not in ("jinja", "envsubst"):
        raise UsageError(f"render: --engine must be jinja or envsubst, not {engine!r}")
    options.engine = engine
    options.filter = raw.get("filter") or None
    if options.filter is not None:
        import re

        try:
            re.compile(options.filter)
        except re.error as exc:
            raise UsageError(
                f"render: --filter {options.filter!r} is not a valid regex: {exc}"
            ) from None
    if raw.get("mode"):
        try:
            options.mode = int(str(raw["mode"]), 8)
        except ValueError:
            raise UsageError(
                f"render: --mode {raw['mode']!r} is not an octal mode like 0640"
            ) from None
        if not 0 <= options.mode <= 0o7777:
            raise UsageError(f"render: --mode {raw['mode']!r} is out of range")
    if raw.get("timeout"):
        options.timeout = _seconds(str(raw["timeout"]), "--timeout", 0.0, MAX_TIMEOUT)
    options.format = str(raw.get("format") or "text")
    if options.format not in ("text", "json"):
        raise UsageError(f"render: --format must be text or json, not {options.format!r}")
    if options.format == "json" and not options.check:
        raise UsageError("render: --format json goes with --check (stdout belongs to the app)")
    if options.template_dir and not options.output_dir:
        raise UsageError("render: --template-dir needs --output-dir")
    if options.in_process and (options.init or options.watch):
        mode = "--watch" if options.watch else "--init"
        raise UsageError(f"render: --in-process cannot be combined with {mode} (a child runs)")
    _typed_supervision(raw, options)
    return options


def _typed_supervision(raw: dict[str, Any], options: RenderOptions) -> None:
    """Check ``--init``/``--watch`` and the options that only make sense with them."""
    for key in ("reload_signal", "reload_command", "poll_interval"):
        if raw.get(key) and not options.watch:
            flag = "--" + key.replace("_", "-")
            raise UsageError(f"render: {flag} / ENVCONF_{key.upper()} needs --watch")
    if not (options.init or options.watch):
        return
    mode = "--watch" if options.watch else "--init"
    if options.check:
        raise UsageError(f"render: {mode} cannot be combined with --check")
    if not options.command:
        raise UsageError(f"render: {mode} needs a COMMAND after --")
    if raw.get("reload_signal"):
        options.reload_signal = parse_signal(str(raw["reload_signal"]))
    if raw.get("reload_command"):
        options.reload_command = str(raw["reload_command"])
        split_command(options.reload_command)
        if raw.get("reload_signal"):
            raise UsageError("render: give --reload-signal or --reload-command, not both")
    if raw.get("poll_interval"):
        options.poll_interval = _seconds(str(raw["poll_interval"]), "--poll-interval", 0.01, 3600)


#: The longest --timeout accepted: a day (a container waiting longer is stuck).
MAX_TIMEOUT = 86400.0


def _seconds(text: str, flag: str, low: float, high: float) -> float:
    """A finite number of seconds within ``[low, high]`` (``nan``, ``inf``, ``-1`` refused).

    Raises:
        UsageError: not such a number; the message names the flag and its variable.
    """
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        variable = "ENVCONF_" + flag.lstrip("-").replace("-", "_").upper()
        raise UsageError(
            f"render: {flag} / {variable} {text!r} must be a number of seconds"
            f" from {low:g} to {high:g}"
        )
    return value


def parse_signal(text: str) -> int:
    """Return the signal named by ``HUP``, ``SIGHUP``, ``hup`` or ``1``.

    Raises:
        UsageError: not a signal this system knows.
    """
    import signal

    name = text.strip().upper()
    if name.isdigit():
        number = int(name)
        if number in {int(s) for s in signal.valid_signals()}:
            return number
    else:
        if not name.startswith("SIG"):
            name = "SIG" + name
        found = getattr(signal.Signals, name, None) if name.isidentifier() else None
        if isinstance(found, signal.Signals):
            return int(found)
    raise UsageError(f"render: --reload-signal {text!r} is not a signal (e.g. HUP, USR1)")


def split_command(text: str) -> list[str]:
    """Split ``--reload-command`` like a shell would, without running one.

    Raises:
        UsageError: empty, or unbalanced quotes.
    """
    import shlex

    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"render: --reload-command {text!r}: {exc}") from None
    if not argv:
        raise UsageError("render: --reload-command is empty")
    return argv
