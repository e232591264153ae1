"""The two sides of ``envconf diff``: what selects each, and loading each in isolation.

A side is the process environment plus what its options select: ``--env-file`` adds the
file's variables (as ``docker run --env-file`` would give them to the container, so they
can set the profile, feed ``${VAR}`` in config files and name ``VAR_FILE`` files),
``--profile`` sets the class' profile variable, ``--config`` replaces the config files
(comma-separated, like ``<config_env>``). Each side gets its own copy of the environment
and its own load: nothing one side reads or sets reaches the other.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from envconf.errors import ConfigError, Problem, UsageError
from envconf.load.classinfo import class_info
from envconf.load.model import FieldSpec
from envconf.tools.diff import Side

SIDES = ("left", "right")


class SideSpec(NamedTuple):
    """What selects one side; ``None`` where the option was not given."""

    profile: str | None = None
    env_file: str | None = None
    config: tuple[str, ...] | None = None


class SideError(ConfigError):
    """One or both sides could not be loaded; every problem is listed under its side."""

    def __init__(self, failures: Sequence[tuple[str, ConfigError]]) -> None:
        self.failures = list(failures)
        super().__init__([p for _, error in self.failures for p in error.problems])

    def _message(self) -> str:
        return "\n".join(
            f"{side}: cannot be loaded: {error}" for side, error in getattr(self, "failures", ())
        )


def side_specs(
    profiles: Sequence[str], env_files: Sequence[str], configs: Sequence[str]
) -> tuple[SideSpec, SideSpec]:
    """Pair the repeatable options into two sides.

    Each option is given twice (left, then right) or once (the same for both sides); at
    least one must be given twice, or there is nothing to compare.

    Raises:
        UsageError: an option given more than twice, or no option given twice.
    """
    options = {"--profile": profiles, "--env-file": env_files, "--config": configs}
    for flag, values in options.items():
        if len(values) > 2:
            raise UsageError(
                f"envconf diff: {flag} given {len(values)} times (left, right: at most 2)"
            )
    if not any(len(values) == 2 for values in options.values()):
        raise UsageError(
            "envconf diff: name the two sides with one option given twice: "
            "--profile A --profile B, --env-file A --env-file B or --config A --config B"
        )

    def pick(values: Sequence[str], at: int) -> str | None:
        return values[at if len(values) == 2 else 0] if values else None

    def files(text: str | None) -> tuple[str, ...] | None:
        return None if text is None else tuple(p.strip() for p in text.split(",") if p.strip())

    left, right = (
        SideSpec(pick(profiles, at), pick(env_files, at), files(pick(configs, at))) for at in (0, 1)
    )
    return left, right


def describe(spec: SideSpec) -> str:
    """How a side was selected, as options (``--profile staging --env-file s.env``)."""
    parts = []
    if spec.profile is not None:
        parts.append(f"--profile {spec.profile or repr('')}")
    if spec.env_file is not None:
        parts.append(f"--env-file {spec.env_file}")
    if spec.config is not None:
        parts.append(f"--config {','.join(spec.config)}")
    return " ".join(parts)


def labels(left: SideSpec, right: SideSpec) -> tuple[str, str]:
    """Short column headings: what differs between the two sides (``staging``, ``b.env``)."""
    empty = {"profile": "no profile", "env_file": "no env file", "config": "no config files"}
    out: list[list[str]] = [[], []]
    for field in SideSpec._fields:
        a, b = getattr(left, field), getattr(right, field)
        if a != b:
            for at, value in enumerate((a, b)):
                text = ",".join(value) if isinstance(value, tuple) else value
                out[at].append(text or empty[field])
    return " + ".join(out[0]), " + ".join(out[1])


def read_env_file(
    path: str, environ: Mapping[str, str], cls: type[Any]
) -> tuple[dict[str, str], dict[str, str], list[Problem]]:
    """The variables of an ``--env-file`` (python-dotenv syntax, ``${VAR}`` expanded).

    Returns the values, each variable's ``file:line``, and the problems found.
    """
    from envconf.load.sources.dotenv import dotenv_entries

    if not os.path.isfile(path):
        why = "is not a regular file" if os.path.exists(path) else "no such file"
        return {}, {}, [Problem("", why, "env file", path)]
    names = class_info(cls).names

    def secret(name: str) -> bool:
        spec = names.lookup(name)
        return isinstance(spec, FieldSpec) and spec.secret

    entries, problems = dotenv_entries([path], environ, secret=secret)
    values = {e.name: e.value for e in entries}
    where = {e.name: e.location for e in entries}
    return values, where, [p._replace(source="env file") for p in problems]


def load_side(
    cls: type[Any],
    spec: SideSpec,
    label: str,
    app_args: Sequence[str],
    environ: Mapping[str, str],
) -> tuple[Side, list[str]]:
    """Load one side in its own copy of ``environ``.

    Returns the side and the warnings its load gave.

    Raises:
        ConfigError: every problem of this side (env file and load together).
    """
    info = class_info(cls)
    env = dict(environ)
    where: dict[str, str] = {}
    problems: list[Problem] = []
    if spec.env_file is not None:
        values, where, problems = read_env_file(spec.env_file, environ, cls)
        env.update(values)
    if spec.profile is not None:
        env[info.profile_env] = spec.profile
    config_files: tuple[str, ...] | None = None
    if spec.config:
        # Named through <config_env> so that, like the app's own --config, every file must
        # exist and the configured list is replaced.
        env[info.config_env] = ",".join(spec.config)
    elif spec.config is not None:  # --config '': no config file at all
        env.pop(info.config_env, None)
        config_files = ()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            settings = cls.load(argv=list(app_args), env=env, config_files=config_files)
        except ConfigError as exc:
            if exc.exit_code != ConfigError.exit_code:
                raise  # the app's own arguments (both sides') are malformed: a usage error
            raise ConfigError([*problems, *exc.problems]) from None
        finally:
            said = [str(w.message) for w in caught]
    if problems:
        raise ConfigError(problems)
    report = settings._envconf_report
    for missing in (f for f in (report.files if report else ()) if f.note.startswith("profile")):
        said.append(f"{missing.path}: {missing.note}")  # a typo'd profile reads no file
    return Side(label, describe(spec), settings, where), said


def load_sides(
    cls: type[Any],
    specs: tuple[SideSpec, SideSpec],
    app_args: Sequence[str],
    environ: Mapping[str, str],
) -> tuple[tuple[Side, Side], list[str]]:
    """Load both sides; warnings are prefixed with their side.

    Raises:
        SideError: a side (or both) failed; every problem named with its side.
    """
    names = labels(*specs)
    loaded: list[Side] = []
    said: list[str] = []
    failures: list[tuple[str, ConfigError]] = []
    for at, spec in enumerate(specs):
        title = f"{SIDES[at]} ({describe(spec)})"
        try:
            side, warned = load_side(cls, spec, names[at], app_args, environ)
        except ConfigError as exc:
            if exc.exit_code != ConfigError.exit_code:
                raise
            failures.append((title, exc))
            continue
        loaded.append(side)
        said.extend(f"{title}: {w}" for w in warned)
    if failures:
        raise SideError(failures)
    return (loaded[0], loaded[1]), said
