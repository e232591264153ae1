"""Reading ``.env`` files (python-dotenv syntax) for the ``dotenv`` layer, with line numbers.

pydantic-settings decides what the variables mean (:class:`~envconf.load.sources.variables.
DotEnvSource`); this module finds them: which files (``env_file``, ``~`` expanded,
``env_file_depth`` parent directories searched), every ``NAME=value`` with its
``file:line``, and ``${VAR}`` expanded in unquoted and double-quoted values.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from envconf.errors import ConfigError, Problem
from envconf.fileread import MAX_CONFIG_BYTES, FileReadError, read_regular
from envconf.load.classinfo import SECRET_REFERENCE
from envconf.load.formats import parse_env_text
from envconf.load.source import FileReport
from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from envconf.records import NamedTuple


class VarEntry(NamedTuple):
    """One ``NAME=value`` found somewhere; ``location`` is the variable's name or file:line."""

    name: str
    value: str
    location: str


def read_env_files(
    env_file: Any,
    depth: int | None,
    encoding: str | None,
    env: Mapping[str, str],
    secret: Callable[[str], bool] = lambda name: False,
) -> tuple[list[VarEntry], list[Problem], tuple[FileReport, ...]]:
    """Every entry of every existing env file, later files after earlier ones.

    Returns the entries, the problems found, and a report per file (loaded or not).
    ``secret(name)`` says whether a variable is a secret (see :func:`dotenv_entries`).
    """
    from pydantic_settings.sources.utils import _resolve_config_file
    from pydantic_settings.utils import _settings_debug_enabled, logger

    debug = _settings_debug_enabled() and logger.isEnabledFor(logging.DEBUG)
    if env_file is None:
        return [], [], ()
    files = [env_file] if isinstance(env_file, (str, os.PathLike)) else list(env_file)
    paths: list[str] = []
    reports: list[FileReport] = []
    for file in files:
        found = _resolve_config_file(file, depth or 0, allow_fifo=True)
        if found is None:
            if debug:  # pydantic-settings' PYDANTIC_SETTINGS_DEBUG lines
                logger.debug("Env file not found, skipping: %s", Path(file).expanduser().resolve())
            reports.append(FileReport(os.fspath(file), False, "not found, skipped"))
        else:
            if debug:
                logger.debug("Loading env file: %s", found.resolve())
            paths.append(str(found))
            reports.append(FileReport(str(found), True))
    entries, problems = dotenv_entries(paths, env, encoding, secret)
    return entries, problems, tuple(reports)


def dotenv_entries(
    paths: Sequence[str],
    env: Mapping[str, str],
    encoding: str | None = None,
    secret: Callable[[str], bool] = lambda name: False,
) -> tuple[list[VarEntry], list[Problem]]:
    """Read every existing ``.env`` file, expanding ``${VAR}`` in unquoted and "quoted" values.

    References resolve against the environment first, then names defined earlier in the
    file. A reference to a name defined only later (or to itself) is a cycle or a
    forward reference and is reported, never silently emptied. For a ``secret(name)``
    variable the problem does not name the "variable": a ``$`` in a password would make
    the rest of the password that name.
    """
    entries: list[VarEntry] = []
    problems: list[Problem] = []
    for path in paths:
        if not os.path.exists(path):
            continue
        try:
            data = read_regular(path, MAX_CONFIG_BYTES, "env file")
            if encoding and encoding.lower().replace("-", "") not in ("utf8", "utf8sig"):
                data = data.decode(encoding).encode("utf-8")
            parsed = parse_env_text(data, path)
        except FileReadError as exc:
            problems.append(Problem("", str(exc).removeprefix(f"{path}: "), "dotenv", path))
            continue
        except (UnicodeDecodeError, LookupError) as exc:
            problems.append(
                Problem(
                    "", f"cannot be decoded as {encoding}: {type(exc).__name__}", "dotenv", path
                )
            )
            continue
        except ConfigError as exc:
            problems.extend(p._replace(source="dotenv") for p in exc.problems)
            continue
        defined: dict[str, str] = {}
        later = {e.name for e in parsed}
        for entry in parsed:
            value = entry.value
            location = f"{path}:{entry.line}"
            if entry.quote != "'" and "$" in value:
                from envconf.interpolate import InterpolationError, interpolate  # "$" only

                def lookup(name: str, defined: dict[str, str] = defined) -> str | None:
                    return env[name] if name in env else defined.get(name)

                try:
                    value = interpolate(value, lookup)
                except InterpolationError as exc:
                    for issue in exc.issues:
                        hidden = secret(entry.name)
                        why = SECRET_REFERENCE if hidden else issue.message
                        if not hidden and issue.variable in later and issue.variable not in defined:
                            why = (
                                f"{issue.variable} is defined later in the file "
                                "or refers to itself (cycle)"
                            )
                        problems.append(Problem(entry.name, why, "dotenv", location))
                    continue
            defined[entry.name] = value
            entries.append(VarEntry(entry.name, value, location))
    return entries, problems
