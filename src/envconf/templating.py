"""Render templates with either engine, collecting every problem with its line.

Shared by ``envconf render`` and ``*.j2`` config files. Imports only the standard
library at module level; jinja2 is imported when a Jinja template is rendered.
``VAR_FILE`` variables provide ``VAR``, read only when a template uses ``VAR``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from envconf.interpolate import InterpolationError, envsubst, line_of, references
from envconf.secretfile import SecretFileError, read_secret_file
from envconf.text import is_utf8

if TYPE_CHECKING:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from envconf.jinja_cache import JinjaCache


class TemplateIssue(NamedTuple):
    """One problem in one template: where, which variable, and what."""

    template: str
    line: int
    variable: str
    message: str

    def __str__(self) -> str:
        var = f" {self.variable}:" if self.variable else ""
        return f"{self.template}:{self.line}:{var} {self.message}"


class TemplateFailed(Exception):
    """A template could not be rendered; ``issues`` lists every problem found."""

    def __init__(self, issues: list[TemplateIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class UnusableVariable(SecretFileError):
    """A variable's value cannot be used (not UTF-8); the message names it, not the value."""


class VariableResolver:
    """Look variables up in an environment, falling back to ``NAME_FILE`` files.

    Files are read only for names a template actually uses; an unrelated ``LOG_FILE``
    is never opened. Setting both ``NAME`` and ``NAME_FILE`` non-empty is an error.
    Every file's content, and the values of ``secret_names``, count as secrets:
    :meth:`scrub` removes them from messages.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        file_suffix: str = "_FILE",
        secret_names: Collection[str] = (),
    ) -> None:
        self.env = env
        self.file_suffix = file_suffix
        self._cache: dict[str, str | None] = {}
        self._secret_names = frozenset(name.upper() for name in secret_names)
        self._from_files: set[str] = set()

    def lookup(self, name: str) -> str | None:
        """Return the value of ``name``, reading ``NAME_FILE`` when needed; None if unset.

        Raises:
            SecretFileError: the file cannot be read, or both forms are set.
        """
        if name in self._cache:
            return self._cache[name]
        value = self.env.get(name)
        file_name = name + self.file_suffix if self.file_suffix else ""
        path = self.env.get(file_name) if file_name else None
        if path:
            if value:
                raise SecretFileError(f"both {name} and {file_name} are set; set only one")
            try:
                value = read_secret_file(path)
            except SecretFileError as exc:
                raise SecretFileError(f"{file_name}: {exc}") from None
            self._from_files.add(value)
        elif value is not None and not is_utf8(value):
            raise UnusableVariable(f"{name} holds bytes that are not valid UTF-8")
        self._cache[name] = value
        return value

    def secret_texts(self) -> list[str]:
        """Return every secret seen so far: file contents and values of secret names."""
        texts = set(self._from_files)
        if self._secret_names:
            texts.update(v for k, v in self.env.items() if k.upper() in self._secret_names)
        return list(texts)

    def scrub(self, message: str, extra: Collection[str] = ()) -> str:
        """Hide every secret (and ``extra`` texts) that ``message`` quotes."""
        return scrub(message, [*self.secret_texts(), *extra])


#: Shorter secrets cannot be told apart from ordinary words of a message.
_MIN_SCRUB = 4
HIDDEN = "**********"


def scrub(message: str, secrets: Collection[str]) -> str:
    """Replace each secret in ``message``, as written or as Python's repr quotes it."""
    forms = {form for text in secrets for form in (text, repr(text)[1:-1])}
    for form in sorted((f for f in forms if len(f) >= _MIN_SCRUB), key=len, reverse=True):
        message = message.replace(form, HIDDEN)
    return message


def _scrubbed(
    issues: list[TemplateIssue], resolver: VariableResolver, extra: Collection[str] = ()
) -> TemplateFailed:
    secrets = [*resolver.secret_texts(), *extra]
    return TemplateFailed(
        [TemplateIssue(i.template, i.line, i.variable, scrub(i.message, secrets)) for i in issues]
    )


def render_envsubst(
    text: str,
    template: str,
    resolver: VariableResolver,
    *,
    name_filter: re.Pattern[str] | None = None,
    strict: bool = False,
) -> str:
    """Render with the envsubst engine (nginx-compatible, plus Compose operators)."""
    values: dict[str, str] = {}
    issues: list[TemplateIssue] = []
    for name in sorted(references(text)):
        if name_filter is not None and not name_filter.search(name):
            continue
        try:
            value = resolver.lookup(name)
        except SecretFileError as exc:
            issues.append(TemplateIssue(template, _first_line(text, name), name, str(exc)))
            continue
        if value is not None:
            values[name] = value
    if issues:
        raise _scrubbed(issues, resolver)
    try:
        return envsubst(text, values.get, name_filter=name_filter, strict=strict)
    except InterpolationError as exc:
        # A ":?" message may quote a secret ("${X:?$DB_PASSWORD}").
        raise _scrubbed(
            [
                TemplateIssue(template, line_of(text, i.offset), i.variable, i.message)
                for i in exc.issues
            ],
            resolver,
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
    resolver: VariableResolver,
    extra: Mapping[str, Any] | None = None,
    cache: JinjaCache | None = None,
) -> str:
    """Render a Jinja2 template with every environment variable as a name and as ``env``.

    Undefined names are all reported at once (found from the template's AST before
    rendering); errors during rendering are located by the template line they hit.
    With a ``cache``, a template seen before is neither parsed nor compiled again.
    """
    from jinja2 import TemplateSyntaxError
    from jinja2.exceptions import SecurityError, TemplateError

    environment = jinja_environment()
    cached = cache.get(text) if cache is not None else None
    code: Any = None
    ast: Any = None
    if cached is not None:
        (loads, assigned, guarded), code = cached
    else:
        try:
            ast = environment.parse(text, name=template, filename=template)
        except TemplateSyntaxError as exc:
            raise TemplateFailed(
                [TemplateIssue(template, exc.lineno or 1, "", f"syntax error: {exc.message}")]
            ) from None
        found, assigned, guarded = _analyse(ast)
        loads = [(node.name, node.lineno) for node in found]
    extra = dict(extra or {})
    context: dict[str, Any] = {"env": dict(resolver.env), **extra}
    issues: list[TemplateIssue] = []
    seen: set[str] = set()
    for name, lineno in loads:
        if name in context or name in assigned or name in seen:
            continue
        if name in environment.globals:
            continue
        seen.add(name)
        try:
            value = resolver.lookup(name)
        except SecretFileError as exc:
            issues.append(TemplateIssue(template, lineno, name, str(exc)))
            continue
        if value is None:
            if name not in guarded:
                issues.append(TemplateIssue(template, lineno, name, "variable is not set"))
        else:
            context[name] = value
    if issues:
        raise _scrubbed(issues, resolver)
    # Jinja quotes values in its messages ("'dict object' has no attribute '<value>'").
    hidden = _secrets_in(extra)
    try:
        if code is None:
            code = environment.compile(ast)
            if cache is not None:
                cache.put(text, (loads, assigned, guarded), code)
        globals_ = environment.make_globals(None)
        compiled = environment.template_class.from_code(environment, code, globals_, None)
        compiled.name = template
        rendered = compiled.render(context)
    except SecurityError as exc:
        message = f"unsafe operation: {exc}"
        raise _scrubbed(
            [TemplateIssue(template, _jinja_line(exc, template), "", message)], resolver, hidden
        ) from None
    except TemplateError as exc:
        message = exc.message or str(exc)
        raise _scrubbed(
            [TemplateIssue(template, _jinja_line(exc, template), "", message)], resolver, hidden
        ) from None
    except (
        ArithmeticError,
        TypeError,
        ValueError,
        LookupError,
        AttributeError,
        RecursionError,
        MemoryError,
    ) as exc:
        message = f"{type(exc).__name__}: {exc}".rstrip(": ")
        raise _scrubbed(
            [TemplateIssue(template, _jinja_line(exc, template), "", message)], resolver, hidden
        ) from None
    if not is_utf8(rendered):  # a value taken from ``env`` that holds non-UTF-8 bytes
        bad = sorted(name for name, value in resolver.env.items() if not is_utf8(value))
        line = min((_first_use(text, name) for name in bad), default=1)
        message = f"output holds bytes that are not valid UTF-8, from {', '.join(bad) or 'a value'}"
        raise TemplateFailed([TemplateIssue(template, line, "", message)])
    return rendered


def _first_use(text: str, name: str) -> int:
    at = text.find(name)
    return line_of(text, at) if at >= 0 else 1


def _secrets_in(value: Any, depth: int = 0) -> list[str]:
    """Every secret value (``SecretStr`` and the like) inside the extra context."""
    getter = getattr(value, "get_secret_value", None)
    if callable(getter):
        secret = getter()
        return [secret.decode("utf-8", "replace") if isinstance(secret, bytes) else str(secret)]
    if depth > 32:
        return []
    if isinstance(value, Mapping):
        items: list[Any] = list(value.values())
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    elif isinstance(getattr(type(value), "model_fields", None), dict):  # a pydantic model
        items = [getattr(value, name, None) for name in type(value).model_fields]
    else:
        return []
    return [text for item in items for text in _secrets_in(item, depth + 1)]


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


def lookup_function(resolver: VariableResolver) -> Callable[[str], str | None]:
    """Adapt a resolver to the ``interpolate`` module's lookup signature."""
    return resolver.lookup
