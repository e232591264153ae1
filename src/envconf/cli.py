"""The ``envconf`` command: a thin front over the library and the renderer.

Exit status: 0 success, 1 configuration/validation/render problem, 2 usage error.
envconf's own messages go to stderr; reports (explain, docs, dotenv) go to stdout.
"""

from __future__ import annotations

import sys

from envconf.errors import ConfigError, EnvconfError, UsageError
from envconf.records import TYPE_CHECKING
from envconf.render.inprocess import RunInProcess
from envconf.text import log

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

PROG = "envconf"


def _parser(prog: str, description: str, usage: str | None = None) -> argparse.ArgumentParser:
    """An argparse parser that raises UsageError instead of exiting (main owns exit codes).

    argparse is imported here, not at module level: ``envconf render`` never needs it.
    """
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            raise UsageError(f"{self.prog}: {message}{self._did_you_mean(message)}")

        given: tuple[str, ...] = ()

        def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
            self.given = tuple(args or ())
            return super().parse_args(args, namespace)

        def _did_you_mean(self, message: str) -> str:
            """Name the option a mistyped one was meant to be (``--setings``)."""
            import difflib

            known = [s for action in self._actions for s in action.option_strings]
            for word in self.given:
                name = word.partition("=")[0]
                if not name.startswith("--") or name in known:
                    continue
                close = difflib.get_close_matches(name, known, n=1)
                if close:
                    return f" ({name}: did you mean {close[0]}?)"
            return ""

    return Parser(prog=prog, description=description, usage=usage)


def _split_app_args(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1 :]
    return argv, []


def _settings_parser(name: str, help_text: str, app_args: bool = False) -> argparse.ArgumentParser:
    import os

    usage = f"{PROG} {name} [options] [-- APP_ARGS...]" if app_args else None
    parser = _parser(f"{PROG} {name}", help_text, usage)
    default = os.environ.get("ENVCONF_SETTINGS") or None  # as `envconf render` reads it
    parser.add_argument(
        "--settings",
        required=default is None,
        default=default,
        metavar="MODULE:CLASS",
        help="the app's settings class (MODULE:CLASS or path/to/file.py:CLASS);"
        " default: ENVCONF_SETTINGS",
    )
    return parser


#: Warnings of the last load, by category name (``check --strict`` fails on some).
_WARNED: list[str] = []


def _load(spec: str, app_args: list[str]) -> Any:
    import warnings

    from envconf.tools.target import import_settings_class

    cls = import_settings_class(spec)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return cls.load(argv=app_args)
        finally:
            _WARNED[:] = [w.category.__name__ for w in caught]
            for warning in caught:
                log(f"warning: {warning.message}")


def cmd_explain(argv: list[str]) -> int:
    """``envconf explain``: every key, its value, source, location and what it overrode."""
    own, app_args = _split_app_args(argv)
    parser = _settings_parser(
        "explain", "Show every key's effective value and where it came from.", app_args=True
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args(own)
    try:
        settings = _load(args.settings, app_args)
    except ConfigError as exc:
        if args.format == "table" and exc.loaded is not None:
            # What did load, so the operator sees the whole picture; the problems follow
            # on stderr and the exit status is still 1 (JSON stays the problem list only).
            from envconf.load.report import table_of

            sys.stdout.write("INVALID configuration: values as loaded, before validation\n")
            sys.stdout.write(table_of(exc.loaded))
            sys.stdout.flush()
        raise
    from envconf.load.report import explain_data, explain_table

    if args.format == "json":
        import json

        sys.stdout.write(json.dumps(explain_data(settings), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(explain_table(settings))
    return 0


def cmd_check(argv: list[str]) -> int:
    """``envconf check``: load and validate; warn about data dirs not on a volume."""
    own, app_args = _split_app_args(argv)
    parser = _settings_parser(
        "check", "Load and validate the settings; report every problem.", app_args=True
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="data directories not on a volume, and prefixed variables that set no key, are errors",
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="json: the result on stdout"
    )
    args = parser.parse_args(own)
    if args.format == "json":
        return _check_json(args.settings, app_args, args.strict)
    settings = _load(args.settings, app_args)
    from envconf.tools.volumes import data_dir_findings

    report = settings._envconf_report
    for missing in (f for f in (report.files if report else ()) if f.note.startswith("profile")):
        log(f"warning: {missing.path}: {missing.note}")  # a typo'd profile reads no file
    findings = data_dir_findings(settings)
    for finding in findings:
        level = "error" if args.strict else "warning"
        log(f"{level}: {finding}")
    if args.strict and "UnknownVariableWarning" in _WARNED:
        log("error: a variable with the prefix sets no key (--strict)")
        return 1
    if findings and args.strict:
        return 1
    fields = len(type(settings).model_fields)
    sys.stdout.write(f"ok: {type(settings).__name__} is valid ({fields} top-level fields)\n")
    return 0


def _check_json(spec: str, app_args: list[str], strict: bool) -> int:
    """``envconf check --format json``: ``{"ok", "problems", "warnings"}`` on stdout."""
    import json

    from envconf.errors import ConfigError

    problems: list[dict[str, str]] = []
    warnings: list[str] = []
    try:
        settings = _load(spec, app_args)
    except ConfigError as exc:
        problems = exc.errors()
    else:
        from envconf.tools.volumes import data_dir_findings

        findings = [str(f) for f in data_dir_findings(settings)]
        if strict:
            problems = [{"key": "", "message": f, "source": "", "location": ""} for f in findings]
        else:
            warnings = findings
    doc = {"ok": not problems, "problems": problems, "warnings": warnings}
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return 0 if not problems else 1


def cmd_docs(argv: list[str]) -> int:
    """``envconf docs``: a Markdown reference of every key."""
    parser = _settings_parser("docs", "Write a Markdown reference of the settings.")
    parser.add_argument("--format", choices=("markdown",), default="markdown")
    args = parser.parse_args(argv)
    from envconf.tools.docs import markdown_reference
    from envconf.tools.target import import_settings_class

    sys.stdout.write(markdown_reference(import_settings_class(args.settings)))
    return 0


def cmd_schema(argv: list[str]) -> int:
    """``envconf schema``: the JSON Schema of the config files, for editors and reviews."""
    parser = _settings_parser("schema", "Write the JSON Schema of the settings' config files.")
    parser.add_argument("--format", choices=("json", "yaml"), default="json")
    args = parser.parse_args(argv)
    from envconf.tools.schema import config_schema, schema_text
    from envconf.tools.target import import_settings_class

    sys.stdout.write(schema_text(config_schema(import_settings_class(args.settings)), args.format))
    return 0


def cmd_dotenv(argv: list[str]) -> int:
    """``envconf dotenv``: a commented ``.env.example``."""
    parser = _settings_parser("dotenv", "Write a commented .env.example.")
    args = parser.parse_args(argv)
    from envconf.tools.docs import dotenv_example
    from envconf.tools.target import import_settings_class

    sys.stdout.write(dotenv_example(import_settings_class(args.settings)))
    return 0


def cmd_diff(argv: list[str]) -> int:
    """``envconf diff``: two environments' settings side by side; exit 1 when they differ."""
    import os

    own, app_args = _split_app_args(argv)
    parser = _settings_parser(
        "diff", "Compare the effective settings of two environments key by key.", app_args=True
    )
    side = "given twice: left, then right; once: the same for both sides"
    parser.add_argument("--profile", action="append", default=[], metavar="NAME", help=side)
    parser.add_argument("--env-file", action="append", default=[], metavar="FILE", help=side)
    parser.add_argument(
        "--config", action="append", default=[], metavar="FILE[,FILE...]", help=side
    )
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.add_argument("--all", action="store_true", help="show every key, not only differences")
    args = parser.parse_args(own)
    from envconf.tools.diff import compare, diff_json, diff_markdown, diff_text
    from envconf.tools.sides import load_sides, side_specs
    from envconf.tools.target import import_settings_class

    specs = side_specs(args.profile, args.env_file, args.config)
    cls = import_settings_class(args.settings)
    (left, right), warned = load_sides(cls, specs, app_args, os.environ)
    for warning in warned:
        log(f"warning: {warning}")
    diff = compare(left, right)
    write = {"text": diff_text, "json": diff_json, "markdown": diff_markdown}[args.format]
    sys.stdout.write(write(diff, args.all))
    return 0 if diff.equal else 1


def cmd_render(argv: list[str]) -> int:
    """``envconf render``: delegated to the renderer (which avoids importing pydantic)."""
    from envconf.render.command import main as render_main

    return render_main(argv)


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "render": cmd_render,
    "explain": cmd_explain,
    "check": cmd_check,
    "docs": cmd_docs,
    "dotenv": cmd_dotenv,
    "schema": cmd_schema,
    "diff": cmd_diff,
}

USAGE = """usage: envconf COMMAND [options]

commands:
  render   render config templates, then exec the app (a container ENTRYPOINT)
  explain  show every setting's value and where it came from
  check    load and validate the settings
  docs     write a Markdown reference of the settings
  dotenv   write a commented .env.example
  schema   write the JSON Schema of the config files (editor completion and checks)
  diff     compare two environments' effective settings key by key

Run 'envconf COMMAND --help' for a command's options; 'envconf --version' for the version.
A command's --settings defaults to ENVCONF_SETTINGS, as render's does.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``envconf`` command; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    errors = [getattr(stream, "errors", None) for stream in (sys.stdout, sys.stderr)]
    for stream in (sys.stdout, sys.stderr):
        # A value holding a lone surrogate (a "\\ud800" JSON escape, bytes that are not
        # UTF-8 in an environment variable) is shown escaped instead of crashing the report.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    if args and args[0] == "--version":
        from importlib.metadata import version

        sys.stdout.write(f"envconf {version('envconf')}\n")
        return 0
    if not args or args[0] in ("-h", "--help"):
        (sys.stdout if args else sys.stderr).write(USAGE)
        return 0 if args else 2
    command = COMMANDS.get(args[0])
    try:
        if command is None:
            raise UsageError(f"unknown command {args[0]!r}; choose from {', '.join(COMMANDS)}")
        return command(args[1:])
    except EnvconfError as exc:
        log(exc.format().removeprefix("envconf: ").rstrip("\n"))
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        return 130
    except RunInProcess as run:
        app = run.app
    # ``render --in-process``: the app runs here, outside every handler above, with the
    # streams as a fresh interpreter has them.
    for stream, original in zip((sys.stdout, sys.stderr), errors, strict=True):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and original is not None:
            reconfigure(errors=original)
    app.run()


def exit_process(status: int) -> NoReturn:
    """End the ``envconf`` process with ``status``, sparing the exit a needless collection.

    The interpreter's exit runs full garbage collections over every object still alive
    (jinja2's, pydantic's, envconf's modules), about 6 ms of a Jinja render. They are
    about to be freed or abandoned, so ``gc.freeze()`` takes them out of those passes. For
    the command's entry points only: a program calling :func:`main` keeps its collector.
    """
    import gc

    gc.freeze()
    sys.exit(status)
