"""Run every code block in docs/ and in the examples' READMEs, so the docs cannot rot.

Each page runs in its own temporary directory (for an example's README: a copy of the
example). Blocks run in page order and share that directory, so a later block can use a
file an earlier one wrote. What a block's info string (its first word) means:

``python``
    Executed in-process; all Python blocks of a page share one namespace. The working
    directory is the page's and is on ``sys.path``; ``os.environ`` holds only ``PATH``,
    ``HOME`` and ``LANG`` plus what the page ``export``-ed.
``pycon``
    A doctest (``>>>`` lines and their expected output) in that same namespace, with
    ``NORMALIZE_WHITESPACE`` and ``ELLIPSIS``.
``console``
    Lines starting with ``$ `` are commands, run by ``bash -c`` in the page's directory;
    the lines up to the next command are its expected output (stdout and stderr together,
    as a terminal shows them). ``envconf`` and ``python`` on ``PATH`` are this
    interpreter (``sys.executable -m envconf``). Output is compared with whitespace
    runs collapsed; a line ``...`` matches any number of lines and ``...`` inside a line
    any text. A command must exit 0 unless it ends with a comment ``# exit N``. A line
    ending in ``\\`` continues on the next. ``export NAME=VALUE``, ``unset NAME`` and
    ``cd DIR`` are remembered for the rest of the page.
``yaml`` / ``toml`` / ``json``
    Parsed (YAML with ``safe_load_all``).
``dockerfile``
    Every instruction is a known Dockerfile keyword; exec-form JSON arrays parse.
``sh`` / ``bash``
    Commands that cannot run here (docker, kubectl): ``bash -n`` checks the syntax.
``dotenv``
    Every line is blank, a comment or ``NAME=VALUE``.
``jinja``
    Parsed by Jinja2. ``nginx``: braces and quotes balance, statements end with ``;``.
``text``
    Only allowed right after a ``file:`` marker (its content is then used by a command).

HTML comments right before a block (blank lines between are fine) modify it:

``<!-- file: path/in/page/dir -->``
    Also write the block's content to that file (created with its parent directories).
``<!-- same-as: examples/webapp/Dockerfile -->``
    The block must equal that file of this repository (so docs and examples agree).

A page-level ``<!-- workdir: examples/webapp -->`` copies ``examples/`` into the page's
directory and starts the page in ``examples/webapp`` (so ``../nginx-proxy`` works); an
example's README starts in a copy of its own directory that way.

Any other block (no info string, an unknown one) fails the test: every block on a page
is exercised. ``docs/performance.md`` and ``docs/security.md`` are generated or owned
elsewhere and are not run here.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
NOT_RUN_HERE = {"performance.md", "security.md"}
EXAMPLE_PAGES = ("webapp", "nginx-proxy", "swarm", "kubernetes")
KEEP_ENV = ("PATH", "HOME", "LANG")
DOCKERFILE_INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY",
    "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL",
    "HEALTHCHECK", "SHELL",
}  # fmt: skip
_MARKER = re.compile(r"<!--\s*(file|same-as|workdir):\s*(\S+)\s*-->")
_FENCE = re.compile(r"^(`{3,})(.*)$")
_EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")


@dataclass
class Block:
    """One fenced code block and the markers right before it."""

    page: Path
    line: int
    lang: str
    text: str
    markers: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def parse_page(page: Path) -> tuple[list[Block], str | None]:
    """Return a page's fenced blocks, and its ``workdir`` marker if any."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    pending: dict[str, str] = {}
    workdir: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        marker = _MARKER.search(line)
        fence = _FENCE.match(line.strip())
        if marker:
            kind, value = marker.groups()
            if kind == "workdir":
                workdir = value
            else:
                pending[kind] = value
        elif fence:
            ticks, info = fence.groups()
            body: list[str] = []
            start = i + 1
            i += 1
            while i < len(lines) and lines[i].strip() != ticks:
                body.append(lines[i])
                i += 1
            lang = info.split()[0].lower() if info.strip() else ""
            text = textwrap.dedent("\n".join(body)) + "\n"  # blocks inside list items
            blocks.append(Block(page, start, lang, text, pending))
            pending = {}
        elif line.strip() and pending:
            pending = {}  # a marker belongs to the block right after it
        i += 1
    return blocks, workdir


def pages() -> list[Path]:
    found = [p for p in sorted(DOCS.glob("*.md")) if p.name not in NOT_RUN_HERE]
    found += [EXAMPLES / name / "README.md" for name in EXAMPLE_PAGES]
    return found


@pytest.fixture(scope="session")
def shims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bin dir whose ``envconf`` and ``python`` are the interpreter running the tests."""
    bindir = tmp_path_factory.mktemp("bin")
    for name, args in {
        "envconf": '-m envconf "$@"',
        "python": '"$@"',
        "python3": '"$@"',
    }.items():
        script = bindir / name
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" {args}\n', encoding="utf-8")
        script.chmod(0o755)
    return bindir


class PageRun:
    """The state one page's blocks share: directory, environment, Python namespace."""

    def __init__(self, directory: Path, shims: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = directory
        self.cwd = directory
        self.shims = shims
        self.monkeypatch = monkeypatch
        self.exports: dict[str, str] = {}
        self.namespace: dict[str, object] = {"__name__": "__docs__"}

    # --- environments -------------------------------------------------------------------
    def base_env(self) -> dict[str, str]:
        env = {
            "PATH": f"{self.shims}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.root),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "COLUMNS": "100",
        }
        env.update(self.exports)
        return env

    def python_env(self) -> None:
        """Give in-process Python the page's environment (monkeypatch restores it)."""
        for key in list(os.environ):
            if key not in KEEP_ENV:
                self.monkeypatch.delenv(key)
        for key, value in self.exports.items():
            self.monkeypatch.setenv(key, value)

    # --- block kinds --------------------------------------------------------------------
    def run_python(self, block: Block) -> None:
        self.monkeypatch.chdir(self.cwd)
        self.python_env()
        exec(compile(block.text, block.where, "exec", dont_inherit=True), self.namespace)

    def run_pycon(self, block: Block) -> None:
        self.monkeypatch.chdir(self.cwd)
        self.python_env()
        parser = doctest.DocTestParser()
        test = parser.get_doctest(
            block.text, self.namespace, block.where, str(block.page), block.line
        )
        flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
        runner = doctest.DocTestRunner(optionflags=flags)
        out: list[str] = []
        runner.run(test, out=out.append, clear_globs=False)
        self.namespace.update(test.globs)  # DocTest works on a copy of the namespace
        assert runner.failures == 0, f"{block.where}: doctest failed\n" + "".join(out)

    def run_console(self, block: Block) -> None:
        for offset, command, expected in console_steps(block.text):
            where = f"{block.page.relative_to(ROOT)}:{block.line + offset}"
            status = 0
            found = _EXIT.search(command)
            if found:
                status = int(found.group(1))
                command = command[: found.start()]
            if self.builtin(command):
                assert not expected.strip(), f"{where}: {command!r} prints nothing"
                continue
            proc = subprocess.run(
                ["bash", "-c", command],
                cwd=self.cwd,
                env=self.base_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=60,
            )
            assert proc.returncode == status, (
                f"{where}: `{command}` exited {proc.returncode}, the page says {status}\n"
                + proc.stdout
            )
            assert output_matches(expected, proc.stdout), (
                f"{where}: `{command}` printed\n{proc.stdout}\nbut the page shows\n{expected}"
            )

    def builtin(self, command: str) -> bool:
        words = shlex.split(command)
        if not words or words[0] not in ("export", "unset", "cd") or "&&" in words:
            return False
        if words[0] == "cd":
            self.cwd = (self.cwd / words[1]).resolve()
        for word in words[1:]:
            if words[0] == "export":
                name, _, value = word.partition("=")
                self.exports[name] = value
            elif words[0] == "unset":
                self.exports.pop(word, None)
        return True


def console_steps(text: str) -> list[tuple[int, str, str]]:
    """Split a console block into (line offset, command, expected output) steps."""
    steps: list[tuple[int, str, list[str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command = line[2:]
            offset = i
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command[:-1] + " " + lines[i].removeprefix("> ").strip()
            steps.append((offset, command, []))
        elif steps:
            steps[-1][2].append(line)
        else:
            raise AssertionError(f"console block starts with output, not a command: {line!r}")
        i += 1
    return [(offset, command, "\n".join(out)) for offset, command, out in steps]


def _normalise(text: str) -> list[str]:
    lines = [" ".join(line.split()) for line in text.strip("\n").splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def output_matches(expected: str, actual: str) -> bool:
    """Compare console output, whitespace-insensitive, with ``...`` wildcards."""
    pattern = []
    for line in _normalise(expected):
        if line == "...":
            pattern.append(r"(?:[^\n]*\n)*?")
        else:
            parts = [re.escape(p) for p in line.split("...")]
            pattern.append(r"[^\n]*?".join(parts) + r"\n")
    text = "".join(line + "\n" for line in _normalise(actual))
    return re.fullmatch("".join(pattern), text) is not None


def check_dockerfile(block: Block) -> None:
    logical: list[str] = []
    current = ""
    for raw in block.text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue  # comments inside a continued instruction are allowed
        current += " " + line[:-1] if line.endswith("\\") else " " + line
        if not line.endswith("\\"):
            logical.append(current.strip())
            current = ""
    assert not current, f"{block.where}: Dockerfile ends inside a continued line"
    assert logical, f"{block.where}: empty Dockerfile"
    for instruction in logical:
        keyword, _, rest = instruction.partition(" ")
        assert keyword.upper() in DOCKERFILE_INSTRUCTIONS, f"{block.where}: {keyword}?"
        assert keyword == keyword.upper(), f"{block.where}: write {keyword.upper()}"
        if keyword in ("CMD", "ENTRYPOINT", "RUN", "SHELL") and rest.startswith("["):
            assert isinstance(json.loads(rest), list), f"{block.where}: {instruction}"


def check_nginx(block: Block) -> None:
    depth = 0
    for number, raw in enumerate(block.text.splitlines(), start=block.line):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        assert line.count('"') % 2 == 0, f"{block.page}:{number}: unbalanced quote"
        depth += line.count("{") - line.count("}")
        opens = line.count("{") - line.count("${")
        assert line.endswith((";", "{", "}")) or opens > 0, f"{block.page}:{number}: no ';'"
    # ${VAR} braces count on both sides, so only the structure's braces remain.
    assert depth == 0, f"{block.where}: unbalanced braces"


def check_block(run: PageRun, block: Block) -> None:
    if "same-as" in block.markers:
        source = ROOT / block.markers["same-as"]
        assert block.text == source.read_text(encoding="utf-8"), (
            f"{block.where}: differs from {block.markers['same-as']}"
        )
    if "file" in block.markers:
        target = run.cwd / block.markers["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text, encoding="utf-8")
    lang = block.lang
    if lang == "python":
        run.run_python(block)
    elif lang == "pycon":
        run.run_pycon(block)
    elif lang == "console":
        run.run_console(block)
    elif lang in ("yaml", "yml"):
        list(yaml.safe_load_all(block.text))
    elif lang == "toml":
        tomllib.loads(block.text)
    elif lang == "json":
        json.loads(block.text)
    elif lang == "dockerfile":
        check_dockerfile(block)
    elif lang in ("sh", "bash"):
        proc = subprocess.run(["bash", "-n"], input=block.text, text=True, capture_output=True)
        assert proc.returncode == 0, f"{block.where}: {proc.stderr}"
    elif lang == "dotenv":
        for raw in block.text.splitlines():
            line = raw.strip().removeprefix("export ")
            ok = not line or line.startswith("#") or re.match(r"[A-Za-z_]\w*=", line)
            assert ok, f"{block.where}: not NAME=VALUE: {raw!r}"
    elif lang == "jinja":
        jinja2.Environment().parse(block.text)
    elif lang == "nginx":
        check_nginx(block)
    elif lang == "text":
        assert "file" in block.markers, f"{block.where}: a text block needs a file: marker"
    else:
        pytest.fail(f"{block.where}: code block with info string {lang!r} is not exercised")


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_page_code_blocks_run(
    page: Path, tmp_path: Path, shims: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks, workdir = parse_page(page)
    if page.parent.parent == EXAMPLES:
        workdir = workdir or str(page.parent.relative_to(ROOT))
    directory = tmp_path / "page"
    directory.mkdir()
    start = directory
    if workdir:
        # Copy the whole top-level directory, so that ../other-example works too.
        top = Path(workdir).parts[0]
        ignore = shutil.ignore_patterns("__pycache__", "wheelhouse", "*.pyc", ".*cache")
        shutil.copytree(ROOT / top, directory / top, ignore=ignore)
        start = directory / workdir
    monkeypatch.syspath_prepend(str(start))
    before = set(sys.modules)
    saved_environ = dict(os.environ)
    run = PageRun(directory, shims, monkeypatch)
    run.cwd = start
    try:
        for block in blocks:
            check_block(run, block)
    finally:
        os.environ.clear()  # a page's Python may set variables itself
        os.environ.update(saved_environ)
        for name in set(sys.modules) - before:
            module_file = getattr(sys.modules[name], "__file__", None) or ""
            if module_file.startswith(str(tmp_path)):
                del sys.modules[name]


def test_docs_pages_exist() -> None:
    expected = {
        "index.md", "precedence.md", "cli.md", "docker.md", "swarm.md", "kubernetes.md",
        "persistence.md", "migrating.md", "api.md",
    }  # fmt: skip
    assert expected <= {p.name for p in DOCS.glob("*.md")}


def test_every_page_has_code_blocks() -> None:
    for page in pages():
        blocks, _ = parse_page(page)
        assert blocks, f"{page}: no code block"


def test_output_matching_rules() -> None:
    assert output_matches("a  b\n...\nz", "a b\nx\ny\nz\n")
    assert output_matches("ok: ... valid", "ok: AppSettings is valid\n")
    assert not output_matches("a\nb", "a\nc\n")
    assert console_steps("$ a \\\n> --b\nout\n$ c\n") == [(0, "a  --b", "out"), (3, "c", "")]


COMMANDS = ["render", "explain", "check", "docs", "dotenv", "schema", "diff"]


@pytest.mark.parametrize("command", COMMANDS)
def test_cli_page_covers_every_option_and_variable(command: str) -> None:
    """docs/cli.md names every flag and ``ENVCONF_*`` variable that ``--help`` shows."""
    proc = subprocess.run(
        [sys.executable, "-m", "envconf", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    names = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", proc.stdout))
    names |= set(re.findall(r"ENVCONF_[A-Z_]+", proc.stdout))
    missing = sorted(name for name in names - {"--help"} if name not in page)
    assert not missing, f"docs/cli.md does not mention {missing} of `envconf {command}`"
