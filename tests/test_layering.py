"""The layering rules of docs/architecture.md, checked on the source and on a real process.

Every ``import`` counts, including those inside functions (a cycle hidden in a function
is still a cycle); imports under ``if TYPE_CHECKING:`` do not, as they never run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
REPO = SRC.parent
PACKAGE = SRC / "envconf"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement except those under ``if TYPE_CHECKING:``."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in skip:
            yield node


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The envconf modules ``path`` imports (``from envconf.a import b``: ``a.b`` if a module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_imports(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target != "envconf":
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    known = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, known) for p in paths}


GRAPH = import_graph()


def test_the_graph_sees_function_level_imports() -> None:
    # envconf.cli imports the renderer inside a function: still an edge.
    assert "envconf.render.command" in GRAPH["envconf.cli"]


def test_there_is_no_import_cycle() -> None:
    """Tarjan's strongly connected components: any with two or more modules is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(GRAPH.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert cycles == []


def _reaches(start: str) -> set[str]:
    seen: set[str] = set()
    pending = [start]
    while pending:
        for other in GRAPH.get(pending.pop(), ()):
            if other not in seen:
                seen.add(other)
                pending.append(other)
    return seen


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m.startswith("envconf.load")))
def test_the_loader_never_imports_render_or_watch(module: str) -> None:
    bad = {m for m in GRAPH[module] if m.startswith(("envconf.render", "envconf.watch"))}
    assert bad == set()


# Modules that ``envconf render`` runs at every container start: they must not pull in
# pydantic, jinja2 or PyYAML at import time (jinja2 is imported when a Jinja template is
# rendered, pydantic only with --settings).
LIGHT = [
    "envconf.cli",
    "envconf.errors",
    "envconf.fileread",
    "envconf.interpolate",
    "envconf.redact",
    "envconf.templating",
    "envconf.jinja_engine",
    "envconf.jinja_analysis",
    "envconf.text",
    "envconf.render.command",
    "envconf.render.options",
    "envconf.render.pipeline",
    "envconf.render.plan",
    "envconf.render.process",
    "envconf.render.writer",
]


@pytest.mark.parametrize("module", LIGHT)
def test_light_modules_import_no_heavy_library_at_module_level(module: str) -> None:
    path = SRC / Path(*module.split(".")).with_suffix(".py")
    tree = ast.parse(path.read_text())
    top_level = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = {a.name for n in top_level if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in top_level if isinstance(n, ast.ImportFrom)}
    heavy = {
        n
        for n in names
        if n.split(".")[0] in ("pydantic", "pydantic_settings", "jinja2", "yaml", "dotenv")
    }
    assert heavy == set()
    # and no envconf module they import at module level is heavy either
    assert not any(
        n.startswith(("envconf.load", "envconf.settings", "envconf.tools")) for n in names
    )


def test_envsubst_render_imports_no_pydantic_jinja2_or_yaml(tmp_path: Path) -> None:
    (tmp_path / "a.conf.tmpl").write_text("port ${PORT};\n")
    code = (
        "import sys\n"
        "from envconf.cli import main\n"
        "status = main(['render', '-t', 'a.conf.tmpl'])\n"
        "heavy = ('pydantic', 'pydantic_settings', 'jinja2', 'yaml', 'dotenv')\n"
        "print(status, sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PORT": "80", "PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.stdout == "0 []\n", run.stderr
    assert (tmp_path / "a.conf").read_text() == "port 80;\n"


# What the envsubst render path may import beyond what the interpreter has loaded when it
# starts: each of re, typing, enum, pathlib, signal costs milliseconds of every container
# start (issue: start within a few milliseconds of the interpreter). Not even
# `collections`: envconf/records.py builds records on `_operator`, which is built in.
ENVSUBST_PATH_STDLIB = {"__future__", "_operator", "errno", "gc"}


def test_envsubst_render_imports_only_what_it_needs(tmp_path: Path) -> None:
    (tmp_path / "a.conf.tmpl").write_text("port ${PORT}; host $host; ${X:-d}\n")
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from envconf.cli import main\n"
        "status = main(['render', '-t', 'a.conf.tmpl', '--', 'true'])\n"
    )
    # exec is the last step: ask for the modules just before it, by replacing execve.
    code = (
        "import os, sys\n"
        "def report(path, argv, env):\n"
        "    print(sorted(set(sys.modules) - before), flush=True)\n"
        "    os._exit(0)\n"
        "os.execve = report\n" + code
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PORT": "80", "PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    imported = set(ast.literal_eval(run.stdout))
    own = {m for m in imported if m == "envconf" or m.startswith("envconf.")}
    allowed = set(ENVSUBST_PATH_STDLIB)
    if _reserved_signals_ignored():
        # Inherited "ignore" of glibc's signals 32/33 is reset through ctypes before exec
        # (envconf.render.process): only then, as some CI runners leave them ignored.
        allowed |= {"_ctypes", "_struct", "ctypes", "ctypes._endian", "struct", "types"}
    assert imported - own <= allowed, sorted(imported - own - allowed)
    assert not any(m.startswith(("envconf.load", "envconf.settings", "envconf.tools")) for m in own)
    assert (tmp_path / "a.conf").read_text() == "port 80; host $host; d\n"


def _imported_at_start(argv: list[str], cwd: Path) -> set[str]:
    """The modules ``python -X importtime ARGV`` imports (the interpreter's own included)."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        cwd=cwd,
        env={"PORT": "80", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    rows = [line.rpartition("|")[2] for line in run.stderr.splitlines() if "|" in line]
    return {row.strip() for row in rows[1:]}


def test_the_installed_envconf_command_imports_only_what_render_needs(tmp_path: Path) -> None:
    # The command is scripts/envconf, installed as is: a generated entry-point wrapper
    # would import `re` (~4 ms of every container start) to tidy argv[0] for Windows.
    command = Path(sys.executable).parent / "envconf"
    assert (
        command.read_text().split("\n")[1:]
        == (REPO / "scripts" / "envconf").read_text().split("\n")[1:]
    ), "reinstall: make venv"
    (tmp_path / "a.conf.tmpl").write_text("port ${PORT};\n")
    interpreter = _imported_at_start(["-c", "pass"], tmp_path)
    imported = _imported_at_start([str(command), "render", "-t", "a.conf.tmpl"], tmp_path)
    extra = {m for m in imported - interpreter if m != "envconf" and not m.startswith("envconf.")}
    allowed = set(ENVSUBST_PATH_STDLIB)
    if _reserved_signals_ignored():
        allowed |= {"_ctypes", "_struct", "ctypes", "ctypes._endian", "struct", "types"}
    assert extra <= allowed, sorted(extra - allowed)
    assert (tmp_path / "a.conf").read_text() == "port 80;\n"


def _reserved_signals_ignored() -> bool:
    """Whether this process (and so its children) inherited signals 32 or 33 ignored."""
    status = Path("/proc/self/status").read_text()
    line = next((x for x in status.splitlines() if x.startswith("SigIgn:")), "SigIgn: 0")
    return bool(int(line.split()[1], 16) & (0b11 << 31))
