"""Parse ``.env`` text with python-dotenv's parser into entries, values unexpanded."""

from __future__ import annotations

import io
import re

from dotenv.parser import parse_stream

from envconf.errors import ConfigError, Problem
from envconf.load.formats.common import file_problem
from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from envconf.records import NamedTuple

__all__ = ["EnvEntry", "parse_env"]


class EnvEntry(NamedTuple):
    """One ``NAME=value`` line of a ``.env`` file, value unexpanded.

    ``quote`` is how the value was written: ``""`` (bare), ``"'"`` or ``'"'``. Values in
    single quotes are never interpolated.
    """

    name: str
    value: str
    line: int
    quote: str


# The part of a binding before its value, as python-dotenv's parser reads it.
_ENV_HEAD = re.compile(r"\s*(?:export[^\S\r\n]+)?(?:'[^']+'|[^=#\s]+)[^\S\r\n]*=[^\S\r\n]*")
_ENV_NAME = re.compile(r"\s*(?:export[^\S\r\n]+)?([A-Za-z_][A-Za-z0-9_.]*)[^\S\r\n]*=")
_ENV_SPACE = re.compile(r"\s*")
_NEWLINE = re.compile(r"\r\n|\n|\r")


def parse_env(text: str, label: str) -> list[EnvEntry]:
    """Parse decoded ``.env`` text, without expanding ``${VAR}``.

    Returns:
        Every assignment in file order, repeated names included.

    Raises:
        ConfigError: Lines cannot be parsed or lack ``=``; every such line is listed.
    """
    entries: list[EnvEntry] = []
    problems: list[Problem] = []
    for binding in parse_stream(io.StringIO(text)):
        raw, first_line = binding.original
        # A binding's text starts with the blank lines before it; its line is the key's.
        space = _ENV_SPACE.match(raw)
        line = first_line + len(_NEWLINE.findall(space.group() if space else ""))
        if binding.error:
            message = "cannot be parsed as NAME=value (an unclosed quote, or text after one?)"
            name = _ENV_NAME.match(raw)  # a well-formed name only, never the value
            problems.append(file_problem(label, line, message, name.group(1) if name else ""))
        elif binding.key is None:
            continue  # a blank line or a comment
        elif binding.value is None:
            # Not named by its text: a stray line may be a secret pasted without its name.
            message = "has no '=' (write NAME=value, or NAME= for an empty value)"
            problems.append(file_problem(label, line, message))
        else:
            head = _ENV_HEAD.match(raw)
            opener = raw[head.end() : head.end() + 1] if head else ""
            quote = opener if opener in ("'", '"') else ""
            entries.append(EnvEntry(binding.key, binding.value, line, quote))
    if problems:
        raise ConfigError(problems)
    return entries
