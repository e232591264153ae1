"""The Jinja2 engine: a sandbox, rendered optimistically, every unset name reported at once.

Shared by ``envconf render`` and ``*.j2`` config files. jinja2 itself is imported when a
template is rendered, never at module level: ``render`` without a Jinja template must not
pay for it.

A template is first rendered as it is, with every variable resolved when the template
asks for it (the cheap path a container start takes). Only when that fails is it
analysed (:mod:`envconf.jinja_analysis`): every unset name is reported at once with its
line, before any runtime error; with none, it is rendered as it was before this path
existed, with only the names the analysis found, and that render decides.

Errors never quote a value computed while rendering: a template may transform a secret
(``|upper``, ``|reverse``, ``[1:]``) in ways no redaction can recognise, so runtime
errors are reported by their kind and line only.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping

from envconf.interpolate import line_of
from envconf.jinja_analysis import analyse, parse, raise_unset
from envconf.records import TYPE_CHECKING
from envconf.templating import TemplateFailed, lookup_checked, template_problem
from envconf.text import is_utf8

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import CodeType
    from typing import Any

    from jinja2 import Template
    from jinja2.runtime import Context
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from envconf.errors import Problem
    from envconf.fileread import FileVariables
    from envconf.render.jinja_cache import Analysis, JinjaCache

    _Dict = dict[str, Any]
else:
    _Dict = dict

__all__ = ["MAX_RENDERED_CHARS", "data_only", "jinja_environment", "jinja_line_map", "render_jinja"]

#: The most text one template may produce: a loop in a hostile template must not take
#: the container's memory (the same bound as a config file).
MAX_RENDERED_CHARS = 64 * 1024 * 1024

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
        _ENVIRONMENT.context_class = _lazy_context_class()  # lazy in scoped blocks too
    return _ENVIRONMENT


def _lazy_context_class() -> type[Context]:
    """Jinja's ``Context``, keeping variables looked up on first use in derived contexts.

    A scoped block (and a call with loop or block variables) renders in a context
    derived from the current one, whose names Jinja copies to a plain dict: a variable
    not yet looked up would then be undefined, and ``X | default(...)`` would silently
    win over a set ``X``.
    """
    from jinja2.runtime import Context

    class LazyContext(Context):
        def derived(self, locals: dict[str, Any] | None = None) -> Context:
            context = super().derived(locals)
            if isinstance(self.parent, _Names) and not isinstance(context.parent, _Names):
                context.parent = _Names(context.parent, self.parent.variables)
            return context

    return LazyContext


def render_jinja(
    text: str,
    template: str,
    variables: FileVariables,
    extra: Mapping[str, Any] | None = None,
    cache: JinjaCache | None = None,
) -> str:
    """Render a Jinja2 template with every environment variable as a name and as ``env``.

    The template is compiled and rendered directly, each variable looked up (and a
    ``VAR_FILE`` read) only when the template asks for it. If that fails for any reason,
    the template is analysed: every unset name it reads is reported at once with its
    line; with none, it is rendered with only the names the analysis found, and a
    failure then is located by the template line it hit and named by its kind only.
    ``extra`` must hold data only (see :func:`data_only`).
    With a ``cache``, a template seen before is neither parsed nor compiled again; a new
    one is analysed once, so that a later failure needs no parsing either.

    Raises:
        TemplateFailed: every problem found, located.
    """
    environment = jinja_environment()
    cached = cache.get(text) if cache is not None else None
    analysis, code = cached if cached is not None else (None, None)
    if cache is not None and cached is None:
        ast = parse(environment, text, template)
        analysis = analyse(ast)
        try:
            code = environment.compile(ast)
        except Exception:
            code = None  # reported below, after any unset name, as without a cache
        else:
            cache.put(text, analysis, code)
    names = _Names(_fixed(variables, extra), variables)
    try:
        if code is None:
            code = environment.compile(text)
        rendered = _bounded(_generate(_template(environment, code, template), names))
    except (Exception, SystemExit) as exc:
        failure: BaseException = exc
    else:
        _check_utf8(rendered, text, template, variables)
        return rendered
    # The slow path, outside the except block: no problem raised here chains the failure.
    if analysis is None:
        analysis = analyse(parse(environment, text, template))
    raise_unset(analysis, template, variables, {"env", *(extra or {}), *environment.globals})
    if code is None:  # it parses but does not compile: the same failure as ever
        raise TemplateFailed([_runtime_problem(failure, text, template)])
    # Every variable is readable: render as before the optimistic path, which decides
    # (it gives only the names the analysis found, not ones the template binds itself).
    rendered = _render_checked(environment, code, text, template, variables, extra, analysis)
    _check_utf8(rendered, text, template, variables)
    return rendered


# A line mark: private-use characters around a template line number, put in front of
# every line of the template's literal text (never in a value), stripped after rendering.
_MARK = "\ue000([0-9]+)\ue001"
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
    environment = _marking_environment()
    try:
        compiled = _template(environment, environment.compile(text), template)
        marked = _bounded(_generate(compiled, _Names(_fixed(variables, None), variables)))
    except (Exception, SystemExit):
        return identity
    mark = re.compile(_MARK)  # compiled here, not at import: most renders never need it
    lines: list[int] = []
    plain: list[str] = []
    current = 1
    for line in marked.split("\n"):
        first = mark.search(line)
        if first is not None:
            current = int(first[1])
        lines.append(current)
        plain.append(mark.sub("", line))
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


class _Names(_Dict):
    """The names a template sees: fixed ones, then variables looked up on first use.

    Jinja resolves a name with ``name in context``; answering that here reads a
    ``VAR_FILE`` only for a name the template uses, and lets ``VAR`` set together with
    ``VAR_FILE`` (or an unreadable file) fail the render, which then reports it located.
    """

    def __init__(self, fixed: Mapping[str, Any], variables: FileVariables) -> None:
        super().__init__(fixed)
        self.variables = variables

    def __contains__(self, name: object) -> bool:
        if dict.__contains__(self, name):
            return True
        if not isinstance(name, str):
            return False
        value = lookup_checked(self.variables, name)
        if value is None:
            return False
        self[name] = value
        return True

    def __missing__(self, name: str) -> Any:
        if name in self:
            return self[name]
        raise KeyError(name)


def _fixed(variables: FileVariables, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The names every template sees whatever it reads: Jinja's globals, ``env``, ``extra``."""
    return {**jinja_environment().globals, "env": dict(variables.env), **(extra or {})}


def _template(environment: ImmutableSandboxedEnvironment, code: CodeType, name: str) -> Template:
    """A template object from compiled code (compiled without a name, see _jinja_line)."""
    globals_ = environment.make_globals(None)
    compiled = environment.template_class.from_code(environment, code, globals_, None)
    compiled.name = name
    return compiled


def _generate(compiled: Template, names: dict[str, Any]) -> Iterator[str]:
    """``compiled.generate()`` over ``names`` itself (``generate`` would copy it to a dict)."""
    context = compiled.new_context(names, shared=True)
    try:
        yield from compiled.root_render_func(context)
    except Exception:
        # Jinja rewrites the traceback so that its frames carry template lines.
        yield compiled.environment.handle_exception()


def _render_checked(
    environment: ImmutableSandboxedEnvironment,
    code: CodeType,
    text: str,
    template: str,
    variables: FileVariables,
    extra: Mapping[str, Any] | None,
    analysis: Analysis,
) -> str:
    """Render with only the names the analysis found given a variable (the old way)."""
    context: dict[str, Any] = {"env": dict(variables.env), **(extra or {})}
    assigned = analysis[1]
    for name, _ in analysis[0]:
        if name not in context and name not in assigned and name not in environment.globals:
            value = lookup_checked(variables, name)  # readable: raise_unset checked it
            if value is not None:
                context[name] = value
    try:
        return _bounded(_template(environment, code, template).generate(context))
    except (Exception, SystemExit) as exc:
        raise TemplateFailed([_runtime_problem(exc, text, template)]) from None


def _check_utf8(rendered: str, text: str, template: str, variables: FileVariables) -> None:
    """Refuse output holding bytes that are not UTF-8 (a value taken from ``env``)."""
    if rendered.isascii() or is_utf8(rendered):
        return
    bad = sorted(name for name, value in variables.env.items() if not is_utf8(value))
    line = min((_first_use(text, name) for name in bad), default=1)
    message = f"output holds bytes that are not valid UTF-8, from {', '.join(bad) or 'a value'}"
    raise TemplateFailed([template_problem(template, line, message)])


class _TooLarge(Exception):
    """A template's output grew past :data:`MAX_RENDERED_CHARS`."""


def _bounded(chunks: Iterator[str]) -> str:
    """Join a template's output, stopping as soon as it grows past the bound."""
    out: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_RENDERED_CHARS:
            raise _TooLarge
        out.append(chunk)
    return "".join(out)


_UNDEFINED_NAME = r"'([A-Za-z_][A-Za-z0-9_]*)' is undefined\Z"


def _runtime_problem(exc: BaseException, text: str, template: str) -> Problem:
    """What went wrong while rendering, at its template line, without any computed value.

    Only an undefined *name* written in the template is quoted: it is template text.
    """
    from jinja2.exceptions import SecurityError, UndefinedError

    kind = type(exc).__name__
    if isinstance(exc, SecurityError):
        message = "unsafe operation refused by the sandbox"
    elif isinstance(exc, UndefinedError):
        match = re.match(_UNDEFINED_NAME, str(exc.message or ""))
        if match and match[1] in text:
            message = f"{match[1]} is undefined"
        else:
            message = "undefined attribute or key (UndefinedError)"
    elif isinstance(exc, _TooLarge):
        message = f"the rendered output grew past {MAX_RENDERED_CHARS} characters"
    elif isinstance(exc, TypeError) and "no loader" in str(exc):
        message = "templates cannot include, import or extend other templates"
    elif isinstance(exc, SystemExit):
        message = "the template tried to end the program (SystemExit)"
    elif isinstance(exc, (RecursionError, MemoryError)):
        message = f"template too deeply nested or too large ({kind})"
    else:
        message = f"error while rendering ({kind})"
    return template_problem(template, _jinja_line(exc, template), message)


def _first_use(text: str, name: str) -> int:
    at = text.find(name)
    return line_of(text, at) if at >= 0 else 1


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
