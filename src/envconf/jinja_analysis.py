"""What a Jinja2 template reads, binds and guards, and which of its variables are unset.

The slow path of :mod:`envconf.jinja_engine`, taken only when a template fails to render
(and once per template for ``--cache-dir``): the template is parsed, its names walked,
and every unset or unreadable variable it reads is reported at once, each at the line of
its first use, before any runtime error. jinja2 is imported when a template is analysed.
"""

from __future__ import annotations

from envconf.fileread import FileReadError
from envconf.records import TYPE_CHECKING
from envconf.templating import TemplateFailed, lookup_checked, template_problem

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from envconf.errors import Problem
    from envconf.fileread import FileVariables
    from envconf.render.jinja_cache import Analysis

__all__ = ["analyse", "parse", "raise_unset"]

_GUARD_FILTERS = frozenset({"default", "d"})
_GUARD_TESTS = frozenset({"defined", "undefined"})


def parse(environment: ImmutableSandboxedEnvironment, text: str, template: str) -> Any:
    """Parse a template; any failure (syntax, nesting too deep for Python) is located.

    Raises:
        TemplateFailed: the template does not parse.
    """
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


def analyse(ast: Any) -> Analysis:
    """One walk over a parsed template: the names it reads (with lines), binds and guards.

    Bound names (set, for, macro arguments and macros) need no variable. A name whose
    every use is guarded (``X | default(...)``, ``X is defined``) may be unset: the
    template handles it; any unguarded use still makes an unset name an error, reported
    up front with the others. So may the names Jinja provides where they are used
    (``loop`` in a for, ``caller``, ``varargs`` and ``kwargs`` in a macro, ``self``,
    ``super`` in a block): counted as guarded, not bound, a variable of that name is
    still given where Jinja does not provide one. One walk matters: each costs
    milliseconds on a large file.
    """
    from jinja2 import nodes

    loads: list[Any] = []
    assigned: set[str] = set()
    provided = {"self"}
    guarded_uses: set[int] = set()
    kinds = (nodes.Name, nodes.Macro, nodes.Filter, nodes.Test, nodes.For, nodes.CallBlock)
    # find_all yields a node before its children, so a guard is seen before its name.
    for node in ast.find_all((*kinds, nodes.Block)):
        if isinstance(node, nodes.Name):
            if node.ctx == "load":
                loads.append(node)
            elif node.ctx in ("store", "param"):
                assigned.add(node.name)
        elif isinstance(node, nodes.For):
            provided.add("loop")
        elif isinstance(node, nodes.Block):
            provided.add("super")
        elif isinstance(node, (nodes.Macro, nodes.CallBlock)):
            provided.update(("caller", "varargs", "kwargs"))
            if isinstance(node, nodes.Macro):
                assigned.add(node.name)
        else:
            guards = _GUARD_FILTERS if isinstance(node, nodes.Filter) else _GUARD_TESTS
            if node.name in guards and isinstance(node.node, nodes.Name):
                guarded_uses.add(id(node.node))
    only_guarded: dict[str, bool] = {}
    for node in loads:
        only_guarded[node.name] = only_guarded.get(node.name, True) and id(node) in guarded_uses
    guarded = {name for name, only in only_guarded.items() if only or name in provided}
    return [(node.name, node.lineno) for node in loads], assigned, guarded


def raise_unset(
    analysis: Analysis, template: str, variables: FileVariables, given: Iterable[str]
) -> None:
    """Raise every unset or unreadable variable an analysed template reads, located.

    ``given`` are the names the template gets whatever the environment holds (``env``,
    the settings, Jinja's globals): they are never looked up.

    Raises:
        TemplateFailed: one problem per such variable, at the line of its first use.
    """
    loads, assigned, guarded = analysis
    skip = {*given, *assigned}
    problems: list[Problem] = []
    for name, lineno in loads:
        if name in skip:
            continue
        skip.add(name)
        try:
            value = lookup_checked(variables, name)
        except FileReadError as exc:
            problems.append(template_problem(template, lineno, str(exc), name))
            continue
        if value is None and name not in guarded:
            problems.append(template_problem(template, lineno, "variable is not set", name))
    if problems:
        raise TemplateFailed(problems)
