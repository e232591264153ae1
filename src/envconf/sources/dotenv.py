"""The ``dotenv`` layer: ``.env`` files (python-dotenv syntax) named by ``env_file``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from envconf.errors import ConfigError, Problem
from envconf.interpolate import InterpolationError, interpolate
from envconf.sources.files import read_config_bytes
from envconf.sources.formats import parse_env_text
from envconf.sources.variables import VarEntry


def dotenv_entries(
    paths: Sequence[str], env: Mapping[str, str]
) -> tuple[list[VarEntry], list[Problem]]:
    """Read every existing ``.env`` file, expanding ``${VAR}`` in unquoted and "quoted" values.

    References resolve against the environment first, then names defined earlier in the
    file. A reference to a name defined only later (or to itself) is a cycle or a
    forward reference and is reported, never silently emptied.
    """
    entries: list[VarEntry] = []
    problems: list[Problem] = []
    for path in paths:
        if not os.path.exists(path):
            continue
        try:
            parsed = parse_env_text(read_config_bytes(path), path)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        defined: dict[str, str] = {}
        later = {e.name for e in parsed}
        for entry in parsed:
            value = entry.value
            location = f"{path}:{entry.line}"
            if entry.quote != "'" and "$" in value:

                def lookup(name: str, defined: dict[str, str] = defined) -> str | None:
                    return env[name] if name in env else defined.get(name)

                try:
                    value = interpolate(value, lookup)
                except InterpolationError as exc:
                    for issue in exc.issues:
                        why = issue.message
                        if issue.variable in later and issue.variable not in defined:
                            why = (
                                f"{issue.variable} is defined later in the file "
                                "or refers to itself (cycle)"
                            )
                        problems.append(Problem(entry.name, why, "dotenv", location))
                    continue
            defined[entry.name] = value
            entries.append(VarEntry(entry.name, value, location))
    return entries, problems
