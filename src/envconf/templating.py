"""Render templates with either engine, collecting every problem with its line.

Shared by ``envconf render`` and ``*.j2`` config files. Imports only the standard
library at module level; jinja2 is imported when a Jinja template is rendered.
``VAR_FILE`` variables provide ``VAR``, read only when a template uses ``VAR``
(:class:`~envconf.fileread.FileVariables`).

Errors never quote a value computed while rendering: a template may transform a secret
(``|upper``, ``|reverse``, ``[1:]``) in ways no redaction can recognise, so runtime
errors are reported by their kind and line only.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from envconf.errors import Problem
from envconf.fileread import FileReadError, FileVariables
from envconf.interpolate import InterpolationError, envsubst, line_of, references
from envconf.text import is_utf8

if TYPE_CHECKING:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from envconf.render.jinja_cache import JinjaCache


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
    values: dict[str, str] = {}
    problems: list[Problem] = []
    for name in sorted(references(text)):
        if name_filter is not None and not name_filter.search(name):
            continue
        try:
            value = lookup_checked(variables, name)
        except FileReadError as exc:
            problems.append(template_problem(template, _first_line(text, name), str(exc), name))
            continue
        if value is not None:
            values[name] = value
    if problems:
        raise TemplateFailed(problems)
    try:
        return envsubst(text, values.get, name_filter=name_filter, strict=strict)
    except InterpolationError as exc:
        raise TemplateFailed(
            [
                template_problem(template, line_of(text, i.offset), i.message, i.variable)
                for i in exc.issues
            ]
        ) from None


def _first_line(text: str, name: str) -> int:
    match = re.search(r"\$\{?" + re.escape(name) + r"\b", text)
    return line_of(text, match.start()) if match else 1


_ENVIRONMENT: ImmutableSandboxedEnvironment | None = None


def jinja_environment() -> ImmutableSandboxedEnvironment:
    """The shared sandboxed Jinja2 environment: strict undefined, trailing newline kept."""
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        from jinja2 import StrictUndefined
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        _ENVIRONMENT = ImmutableSandboxedEnvironment(
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )
    return _ENVIRONMENT


def render_jinja(
    text: str,
    template: str,
    variables: FileVariables,
    extra: Mapping[str, Any] | None = None,
    cache: JinjaCache | None = None,
) -> str:
    """Render a Jinja2 template with every environment variable as a name and as ``env``.

    Undefined names are all reported at once (found from the template's AST before
    rendering); errors during rendering are located by the template line they hit and
    named by their kind only. ``extra`` must hold data only (see :func:`data_only`).
    With a ``cache``, a template seen before is neither parsed nor compiled again.

    Raises:
        TemplateFailed: every problem found, located.
    """
    return _render_jinja(jinja_environment(), text, template, variables, extra, cache)


# A line mark: private-use characters around a template line number, put in front of
# every line of the template's literal text (never in a value), stripped after rendering.
_MARK = re.compile("\ue000([0-9]+)\ue001")
_MARKING: ImmutableSandboxedEnvironment | None = None


def jinja_line_map(text: str, template: str, variables: FileVariables, rendered: str) -> list[int]:
    """The template line each line of ``rendered`` was written on (a ``.j2`` config file).

    The template is rendered again with a mark in front of every line of its literal
    text; a line of output takes the first mark on it, or the last one before it (a
    multi-line value belongs to its expression's line). When the marked output does not
    strip back to ``rendered`` (a filter over captured text saw the marks), or the
    template cannot be rendered again, each line is its own number, as before.
    """
    identity = list(range(1, rendered.count("\n") + 2))
    try:
        marked = _render_jinja(_marking_environment(), text, template, variables, None, None)
    except TemplateFailed:
        return identity
    lines: list[int] = []
    plain: list[str] = []
    current = 1
    for line in marked.split("\n"):
        first = _MARK.search(line)
        if first is not None:
            current = int(first[1])
        lines.append(current)
        plain.append(_MARK.sub("", line))
    return lines if "\n".join(plain) == rendered else identity


def _marking_environment() -> ImmutableSandboxedEnvironment:
    global _MARKING
    if _MARKING is None:
        from jinja2.ext import Extension
        from jinja2.lexer import Token, TokenStream

        class LineMarks(Extension):
            """Marks every line of literal text with its template line."""

            def filter_stream(self, stream: TokenStream) -> Any:
                for token in stream:
                    if token.type != "data":
                        yield token
                        continue
                    parts = token.value.split("\n")
                    value = "\n".join(
                        f"\ue000{token.lineno + n}\ue001{part}" for n, part in enumerate(parts)
                    )
                    yield Token(token.lineno, "data", value)

        _MARKING = jinja_environment().overlay(extensions=[LineMarks])
    return _MARKING


def _render_jinja(
    environment: ImmutableSandboxedEnvironment,
    text: str,
    template: str,
    variables: FileVariables,
    extra: Mapping[str, Any] | None,
    cache: JinjaCache | None,
) -> str:
    cached = cache.get(text) if cache is not None else None
    code: Any = None
    ast: Any = None
    if cached is not None:
        (loads, assigned, guarded), code = cached
    else:
        ast = _parse(environment, text, template)
        found, assigned, guarded = _analyse(ast)
        loads = [(node.name, node.lineno) for node in found]
    context: dict[str, Any] = {"env": dict(variables.env), **(extra or {})}
    problems: list[Problem] = []
    seen: set[str] = set()
    for name, lineno in loads:
        if name in context or name in assigned or name in seen or name in environment.globals:
            continue
        seen.add(name)
        try:
            value = lookup_checked(variables, name)
        except FileReadError as exc:
            problems.append(template_problem(template, lineno, str(exc), name))
            continue
        if value is None:
            if name not in guarded:
                problems.append(template_problem(template, lineno, "variable is not set", name))
        else:
            context[name] = value
    if problems:
        raise TemplateFailed(problems)
    try:
        if code is None:
            code = environment.compile(ast)
            if cache is not None:
                cache.put(text, (loads, assigned, guarded), code)
        globals_ = environment.make_globals(None)
        compiled = environment.template_class.from_code(environment, code, globals_, None)
        compiled.name = template
        rendered = _bounded(compiled.generate(context))
    except (Exception, SystemExit) as exc:
        raise TemplateFailed(
            [template_problem(template, _jinja_line(exc, template), _runtime_message(exc, text))]
        ) from None
    if not is_utf8(rendered):  # a value taken from ``env`` that holds non-UTF-8 bytes
        bad = sorted(name for name, value in variables.env.items() if not is_utf8(value))
        line = min((_first_use(text, name) for name in bad), default=1)
        message = f"output holds bytes that are not valid UTF-8, from {', '.join(bad) or 'a value'}"
        raise TemplateFailed([template_problem(template, line, message)])
    return rendered


#: The most text one template may produce: a loop in a hostile template must not take
#: the container's memory (the same bound as a config file).
MAX_RENDERED_CHARS = 64 * 1024 * 1024


class _TooLarge(Exception):
    """A template's output grew past :data:`MAX_RENDERED_CHARS`."""


def _bounded(chunks: Any) -> str:
    """Join a template's output, stopping as soon as it grows past the bound."""
    out: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_RENDERED_CHARS:
            raise _TooLarge
        out.append(chunk)
    return "".join(out)


def _parse(environment: Any, text: str, template: str) -> Any:
    """Parse a template; any failure (syntax, nesting too deep for Python) is located."""
    from jinja2 import TemplateSyntaxError

    try:
        return environment.parse(text, name=template, filename=template)
    except TemplateSyntaxError as exc:
        problem = template_problem(template, exc.lineno or 1, f"syntax error: {exc.message}")
    except (RecursionError, MemoryError, SyntaxError) as exc:
        # Deep nesting exhausts the parser's recursion or Python's own limits.
        problem = template_problem(
            template, 1, f"template too deeply nested ({type(exc).__name__})"
        )
    raise TemplateFailed([problem])


_UNDEFINED_NAME = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*)' is undefined\Z")


def _runtime_message(exc: BaseException, text: str) -> str:
    """What went wrong while rendering, without any value computed from the context.

    Only an undefined *name* written in the template is quoted: it is template text.
    """
    from jinja2.exceptions import SecurityError, UndefinedError

    kind = type(exc).__name__
    if isinstance(exc, SecurityError):
        return "unsafe operation refused by the sandbox"
    if isinstance(exc, UndefinedError):
        match = _UNDEFINED_NAME.match(str(exc.message or ""))
        if match and match[1] in text:
            return f"{match[1]} is undefined"
        return "undefined attribute or key (UndefinedError)"
    if isinstance(exc, _TooLarge):
        return f"the rendered output grew past {MAX_RENDERED_CHARS} characters"
    if isinstance(exc, TypeError) and "no loader" in str(exc):
        return "templates cannot include, import or extend other templates"
    if isinstance(exc, SystemExit):
        return "the template tried to end the program (SystemExit)"
    if isinstance(exc, (RecursionError, MemoryError)):
        return f"template too deeply nested or too large ({kind})"
    return f"error while rendering ({kind})"


def _first_use(text: str, name: str) -> int:
    at = text.find(name)
    return line_of(text, at) if at >= 0 else 1


_GUARD_FILTERS = frozenset({"default", "d"})
_GUARD_TESTS = frozenset({"defined", "undefined"})


def _analyse(ast: Any) -> tuple[list[Any], set[str], set[str]]:
    """One walk over the template: names it reads, names it binds, names it guards.

    Bound names (set, for, macro arguments and macros) need no variable. A name whose
    every use is guarded (``X | default(...)``, ``X is defined``) may be unset: the
    template handles it; any unguarded use still makes an unset name an error, reported
    up front with the others. One walk matters: each costs milliseconds on a large file.
    """
    from jinja2 import nodes

    loads: list[Any] = []
    assigned: set[str] = set()
    guarded_uses: set[int] = set()
    # find_all yields a node before its children, so a guard is seen before its name.
    for node in ast.find_all((nodes.Name, nodes.Macro, nodes.Filter, nodes.Test)):
        if isinstance(node, nodes.Name):
            if node.ctx == "load":
                loads.append(node)
            elif node.ctx in ("store", "param"):
                assigned.add(node.name)
        elif isinstance(node, nodes.Macro):
            assigned.add(node.name)
        else:
            guards = _GUARD_FILTERS if isinstance(node, nodes.Filter) else _GUARD_TESTS
            if node.name in guards and isinstance(node.node, nodes.Name):
                guarded_uses.add(id(node.node))
    only_guarded: dict[str, bool] = {}
    for node in loads:
        only_guarded[node.name] = only_guarded.get(node.name, True) and id(node) in guarded_uses
    return loads, assigned, {name for name, only in only_guarded.items() if only}


def _jinja_line(exc: BaseException, template: str) -> int:
    """The template line an exception was raised at, from Jinja's rewritten traceback."""
    line = getattr(exc, "lineno", None)
    if isinstance(line, int):
        return line
    # Templates are compiled without a name (so no file name ever enters generated code);
    # Jinja's rewritten traceback then names their frames "<template>".
    names = (template, "<template>")
    tb = exc.__traceback__
    found = 1
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in names:
            found = tb.tb_lineno
        tb = tb.tb_next
    return found


_PLAIN = (str, int, float, bool, type(None))


def data_only(value: Any, depth: int = 0) -> Any:
    """``value`` as template data: mappings, lists and scalars, never an object with methods.

    A settings object handed to a template as it is would let it call ``settings.load(...)``
    (reading any file, or ending the program with ``--help``) or a ``Path``'s
    ``read_text()``. Models become dicts (Jinja reads ``settings.db.port`` from a dict too);
    ``SecretStr``/``SecretBytes`` stay as they are, so a template that needs the value says
    so with ``.get_secret_value()``; anything else becomes its text.
    """
    if isinstance(value, _PLAIN):
        return value
    if depth > 64:
        raise ValueError("settings nested too deeply to hand to a template")
    if type(value).__name__ in ("SecretStr", "SecretBytes") and callable(
        getattr(value, "get_secret_value", None)
    ):
        return value
    fields = getattr(type(value), "model_fields", None)
    if isinstance(fields, dict):  # a pydantic model, the settings object included
        return {name: data_only(getattr(value, name, None), depth + 1) for name in fields}
    if isinstance(value, Mapping):
        return {str(k): data_only(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [data_only(v, depth + 1) for v in items]
    if isinstance(value, enum.Enum):
        return data_only(value.value, depth + 1)
    import dataclasses  # only with --settings, where pydantic has loaded it already

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: data_only(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value)
        }
    return str(value)
