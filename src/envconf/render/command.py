"""``envconf render``: wait, render every template in memory, write atomically, exec.

Pipeline: options (flags over ``ENVCONF_*``) -> ``--wait`` -> plan -> optional typed
settings -> render all templates (collect every problem) -> atomic writes -> ``--user``
-> exec. Nothing here imports pydantic unless ``--settings`` is given, nor jinja2
unless a Jinja template is rendered.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from envconf.errors import EnvconfError, RenderError, UsageError

USAGE = """usage: envconf render [options] [-- COMMAND ARGS...]

Render config templates from the environment, write them atomically, then exec COMMAND.

options (each also from an ENVCONF_* variable; flags win):
  -t, --template SRC[:DEST]  a template (repeatable)                  ENVCONF_TEMPLATE (a,b)
  --template-dir DIR         render every template under DIR          ENVCONF_TEMPLATE_DIR
  --output-dir DIR           where rendered files go                  ENVCONF_OUTPUT_DIR
  --engine jinja|envsubst    override the engine chosen by suffix     ENVCONF_ENGINE
  --filter REGEX             envsubst: only replace names matching    ENVCONF_FILTER
  --strict                   envsubst: undefined ${VAR} is an error   ENVCONF_STRICT
  --mode OCTAL               permissions of written files             ENVCONF_MODE
  --check                    render and report, write nothing         ENVCONF_CHECK
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
}
_FLAG_OPTIONS = {"--strict": "strict", "--check": "check", "--init": "init", "--watch": "watch"}
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
    settings: str | None = None
    user: str | None = None
    timeout: float = 30.0
    init: bool = False
    watch: bool = False
    reload_signal: int | None = None
    reload_command: str | None = None
    poll_interval: float | None = None
    cache_dir: str | None = None

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


class Terminated(EnvconfError):
    """SIGTERM/SIGINT arrived before exec: stop with nothing changed."""

    def __init__(self, signum: int) -> None:
        self.exit_code = 128 + signum
        super().__init__(f"stopped by {signal.Signals(signum).name} before the app started")


def _split(value: str) -> list[str]:
    return [part for part in re.split(r"[,\s]+", value) if part]


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
            raise UsageError(f"render: unknown option {name}; see 'envconf render --help'")
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


def _typed(raw: dict[str, Any], command: list[str]) -> RenderOptions:
    options = RenderOptions(command=command)
    options.template = list(raw.get("template", []))
    options.wait = list(raw.get("wait", []))
    for key in ("template_dir", "output_dir", "settings", "user", "cache_dir"):
        setattr(options, key, raw.get(key) or None)
    for key in ("strict", "check", "init", "watch"):
        text = str(raw.get(key, "")).strip().lower()
        if text not in _TRUE | _FALSE:
            raise UsageError(f"render: --{key} / ENVCONF_{key.upper()} must be true or false")
        setattr(options, key, text in _TRUE)
    engine = raw.get("engine") or None
    if engine is not None and engine not in ("jinja", "envsubst"):
        raise UsageError(f"render: --engine must be jinja or envsubst, not {engine!r}")
    options.engine = engine
    options.filter = raw.get("filter") or None
    if options.filter is not None:
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
        try:
            options.timeout = float(raw["timeout"])
        except ValueError:
            raise UsageError(
                f"render: --timeout {raw['timeout']!r} is not a number of seconds"
            ) from None
    if options.template_dir and not options.output_dir:
        raise UsageError("render: --template-dir needs --output-dir")
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
    from envconf.render.watch import parse_signal, split_command

    if raw.get("reload_signal"):
        options.reload_signal = parse_signal(str(raw["reload_signal"]))
    if raw.get("reload_command"):
        options.reload_command = str(raw["reload_command"])
        split_command(options.reload_command)
        if raw.get("reload_signal"):
            raise UsageError("render: give --reload-signal or --reload-command, not both")
    if raw.get("poll_interval"):
        try:
            options.poll_interval = float(raw["poll_interval"])
        except ValueError:
            options.poll_interval = -1.0
        if not 0.01 <= options.poll_interval <= 3600:
            raise UsageError(
                f"render: --poll-interval {raw['poll_interval']!r} must be a number of"
                " seconds from 0.01 to 3600"
            )


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


def _load_settings(spec: str, env: Mapping[str, str]) -> Any:
    from envconf.target import import_settings_class

    cls = import_settings_class(spec)
    return cls.load(env=env)


def _log_warning(message: str) -> None:
    sys.stderr.write(f"envconf: warning: {message}\n")


def render_all(
    options: RenderOptions,
    env: Mapping[str, str],
    settings: Any = None,
    *,
    resolver: Any = None,
) -> list[Any]:
    """Plan and render every template in memory; raise one RenderError listing every problem.

    ``resolver`` (a ``VariableResolver`` over ``env``) lets ``--watch`` see which
    ``VAR_FILE`` targets were read.
    """
    from envconf.render.plan import plan_jobs
    from envconf.render.writer import Output
    from envconf.templating import TemplateFailed, VariableResolver, render_envsubst, render_jinja

    jobs = plan_jobs(
        options.template, options.template_dir, options.output_dir, options.engine, options.mode
    )
    if resolver is None:
        resolver = VariableResolver(env)
    name_filter = re.compile(options.filter) if options.filter else None
    extra = {"settings": settings} if settings is not None else None
    cache = None
    if options.cache_dir and any(job.engine == "jinja" for job in jobs):
        from envconf.jinja_cache import JinjaCache

        cache = JinjaCache(options.cache_dir, _log_warning)
    outputs: list[Output] = []
    problems: list[str] = []
    for job in jobs:
        label = str(job.source)
        try:
            data = job.source.read_bytes()
        except OSError as exc:
            problems.append(f"{label}: cannot read template: {exc.strerror}")
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            problems.append(f"{label}:{line}: not valid UTF-8")
            continue
        try:
            if job.engine == "jinja":
                rendered = render_jinja(text, label, resolver, extra, cache)
            else:
                rendered = render_envsubst(
                    text, label, resolver, name_filter=name_filter, strict=options.strict
                )
        except TemplateFailed as exc:
            problems.extend(str(issue) for issue in exc.issues)
            continue
        outputs.append(Output(job.dest, rendered.encode("utf-8"), job.mode))
    if problems:
        raise RenderError(problems)
    return outputs


def run(options: RenderOptions, env: dict[str, str]) -> int:
    """Do the render; exec the command (never returns then) or return an exit status."""
    from envconf.render.writer import check_destinations, write_outputs

    def log(message: str) -> None:
        sys.stderr.write(f"envconf: {message}\n")
        sys.stderr.flush()

    if options.init or options.watch:
        from envconf.render.watch import run_supervised

        return run_supervised(options, env, log)
    if options.user:
        # Resolve (and import) everything needed after the privilege drop now: the
        # unprivileged user may not be able to read the interpreter's library dir.
        from envconf.render.privileges import drop_privileges, resolve_user

        resolve_user(options.user)
    from envconf.render.process import check_exec_size, exec_command

    if options.wait:
        from envconf.render.wait import wait_for

        wait_for(options.wait, options.timeout, log)
    settings = None
    if options.settings:
        settings = _load_settings(options.settings, env)
    outputs = render_all(options, env, settings)
    output_dir = Path(options.output_dir) if options.output_dir else None
    problems = check_destinations(outputs, output_dir)
    if problems:
        raise RenderError(problems)
    if options.check:
        for out in outputs:
            log(f"check: would write {out.dest} ({len(out.content)} bytes, mode {out.mode:04o})")
        log(f"check: {len(outputs)} template(s) rendered, nothing written")
        return 0
    write_outputs(outputs, output_dir, lambda message: log(f"warning: {message}"))
    if outputs:
        log(f"rendered {len(outputs)} file(s)")
    if options.user:
        drop_privileges(options.user, env)
    if not options.command:
        return 0
    too_big = check_exec_size(options.command, env)
    if too_big:
        raise RenderError(too_big)
    exec_command(options.command, env)


def main(argv: Sequence[str]) -> int:
    """Entry point for ``envconf render``; returns an exit status unless it execs."""
    previous = {
        sig: signal.signal(sig, _on_signal)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    }
    try:
        env = dict(os.environ)
        options = parse_options(argv, env)
        return run(options, env)
    except EnvconfError as exc:
        sys.stderr.write(exc.format().rstrip("\n") + "\n")
        return exc.exit_code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
