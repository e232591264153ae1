"""What both template engines share, and the envsubst engine.

Shared by ``envconf render`` and ``*.j2`` config files: the error a failed template
raises, problems located at a template line, and ``VAR_FILE`` lookups refusing bytes that
are not text. The envsubst engine runs at every container start, so this module imports
no ``re``, ``enum`` or ``typing`` at run time; the Jinja2 engine lives in
:mod:`envconf.jinja_engine`. ``VAR_FILE`` variables provide ``VAR``, read only when the
template's expansion looks ``VAR`` up (:class:`~envconf.fileread.FileVariables`).
"""

from __future__ import annotations

from envconf.errors import Problem
from envconf.fileread import FileReadError, FileVariables
from envconf.interpolate import InterpolationError, envsubst, line_of
from envconf.records import TYPE_CHECKING
from envconf.text import is_utf8

if TYPE_CHECKING:
    import re

__all__ = ["TemplateFailed", "lookup_checked", "render_envsubst", "template_problem"]


class TemplateFailed(Exception):
    """A template could not be rendered; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def template_problem(template: str, line: int, message: str, variable: str = "") -> Problem:
    """A problem located at ``template:line``, naming the variable when there is one."""
    named = variable and not message.startswith(f"required variable {variable} ")
    text = f"{variable}: {message}" if named else message
    return Problem("", text, "", f"{template}:{line}")


def lookup_checked(variables: FileVariables, name: str) -> str | None:
    """``variables.lookup(name)``, refusing a value that is not UTF-8 text.

    Raises:
        FileReadError: as :meth:`FileVariables.lookup`, or the value is not UTF-8.
    """
    value = variables.lookup(name)
    if value is not None and not is_utf8(value):
        raise FileReadError(f"{name} holds bytes that are not valid UTF-8")
    return value


def render_envsubst(
    text: str,
    template: str,
    variables: FileVariables,
    *,
    name_filter: re.Pattern[str] | None = None,
    strict: bool = False,
) -> str:
    """Render with the envsubst engine (nginx-compatible, plus Compose operators).

    Raises:
        TemplateFailed: every unreadable variable and failed ``:?`` check, located.
    """
    # Variables are looked up as the scan meets them (one pass over the text): a
    # ``NAME_FILE`` is read only for a name the template uses where it is expanded.
    values: dict[str, str | None] = {}
    unreadable: dict[str, Problem] = {}

    def lookup(name: str) -> str | None:
        if name in values:
            return values[name]
        try:
            value = lookup_checked(variables, name)
        except FileReadError as exc:
            line = _first_line(text, name)
            unreadable[name] = template_problem(template, line, str(exc), name)
            value = None
        values[name] = value
        return value

    try:
        rendered = envsubst(text, lookup, name_filter=name_filter, strict=strict)
    except InterpolationError as exc:
        issues = exc.issues
    else:
        issues = []
    if unreadable:  # what follows from an unreadable value is not reported on top
        raise TemplateFailed([unreadable[name] for name in sorted(unreadable)])
    if issues:
        raise TemplateFailed(
            [
                template_problem(template, line_of(text, i.offset), i.message, i.variable)
                for i in issues
            ]
        )
    return rendered


def _first_line(text: str, name: str) -> int:
    """The line of the first ``$NAME`` or ``${NAME`` reference to ``name`` (else line 1)."""
    at = text.find(name)
    while at >= 0:
        end = at + len(name)
        referenced = text[at - 1 : at] == "$" or text[max(at - 2, 0) : at] == "${"
        whole = end == len(text) or not (text[end].isalnum() or text[end] == "_")
        if referenced and whole:
            return line_of(text, at)
        at = text.find(name, at + 1)
    return 1
