"""Promise 4: hostile or broken input fails closed, with an error that names where and what.

Every case below is run twice: through the library (``Hostile.load`` raises one
``ConfigError``) and through the real ``envconf check``, each case its own process (exit
status 1 or 2, the problem on stderr, no traceback, nothing on stdout). Each must name the source
(``file:line``, the variable or the flag) and, where the input got as far as having one,
the key. A naive loader fails these cases: ``yaml.safe_load`` recurses into a 100k-deep
document, ``tomllib`` raises ``ValueError`` on 5000 digits, ``json`` accepts ``NaN``,
``open(path).read()`` blocks on a FIFO and eats all memory on ``/dev/zero``,
``os.environ`` hands over undecodable bytes as lone surrogates, and pydantic's own
messages quote the line that could not be parsed.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from envconf.errors import ConfigError, Problem

from .hostile_settings import Hostile
from .support import CANARY, SETTINGS, Call, Run, envconf, envconf_many, python

Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """One hostile input: files to create, variables, app flags, and the expected error."""

    id: str
    where: str  # the location the error must name: file:line, variable or flag
    says: str  # a regex the message must match
    key: str | None = None  # the key the error must name (None: a whole-file problem)
    files: dict[str, bytes] = field(default_factory=dict)
    env: dict[str, bytes] = field(default_factory=dict)
    argv: list[bytes] = field(default_factory=list)
    setup: Setup | None = None
    status: int = 1
    hidden: str = ""  # text that must never be shown

    def prepare(self, folder: Path) -> None:
        for name, data in self.files.items():
            (folder / name).write_bytes(data)
        if self.setup is not None:
            self.setup(folder)


def fifo(name: str) -> Setup:
    return lambda folder: os.mkfifo(folder / name)


def directory(name: str) -> Setup:
    return lambda folder: (folder / name).mkdir()


def link_to(name: str, target: str) -> Setup:
    return lambda folder: (folder / name).symlink_to(target)


def sparse(name: str, size: int) -> Setup:
    def make(folder: Path) -> None:
        with open(folder / name, "wb") as handle:
            handle.truncate(size)

    return make


DEEP = 100_000
DIGITS = b"9" * 5000
TWO_GB = 2 * 1024**3

CASES = [
    # --- bytes that are not text ---------------------------------------------------------
    Case("yaml-not-utf8", "app.yaml:2", "not valid UTF-8",
         files={"app.yaml": b"workers: 2\nname: caf\xe9\n"}),
    Case("env-not-utf8", "APP_NAME", "not valid UTF-8", "name", env={"APP_NAME": b"caf\xe9"}),
    Case("flag-not-utf8", "--name", "not valid UTF-8", "name", argv=[b"--name", b"caf\xe9"],
         status=2),
    Case("dotenv-value-not-utf8", ".env:1", "not valid UTF-8",
         files={".env": b"APP_NAME=caf\xe9\n"}),
    Case("yaml-interpolates-non-utf8-env", "app.yaml:2", "BAD holds bytes that are not valid UTF-8",
         "name", files={"app.yaml": b"workers: 2\nname: ${BAD}\n"}, env={"BAD": b"caf\xe9"}),
    Case("dotenv-interpolates-non-utf8-env", ".env:1", "not valid UTF-8", "name",
         files={".env": b"APP_NAME=${BAD}\n"}, env={"BAD": b"caf\xe9"}),
    # --- .env syntax -----------------------------------------------------------------------
    Case("dotenv-unterminated-quote", ".env:1", "cannot be parsed", "APP_TOKEN",
         files={".env": b'APP_TOKEN="' + CANARY.encode() + b"\nAPP_WORKERS=2\n"},
         hidden=CANARY),
    Case("dotenv-line-without-equals", ".env:2", "has no '='",
         files={".env": b"APP_WORKERS=2\n" + CANARY.encode() + b"\n"}, hidden=CANARY),
    Case("dotenv-interpolation-cycle", ".env:1", "cycle", "APP_NAME",
         files={".env": b"APP_NAME=${APP_DB__HOST}\nAPP_DB__HOST=${APP_NAME}\n"}),
    # --- document structure ----------------------------------------------------------------
    Case("yaml-two-documents", "app.yaml:2", "more than one YAML document",
         files={"app.yaml": b"workers: 1\n---\nworkers: 2\n"}),
    Case("yaml-top-level-list", "app.yaml:1", "top level must be a mapping",
         files={"app.yaml": b"- workers\n- 2\n"}),
    Case("yaml-100k-deep", "app.yaml:2", "nest", "extra.k",
         files={"app.yaml": b"extra:\n  k: " + b"[" * DEEP + b"]" * DEEP + b"\n"}),
    Case("yaml-100k-deep-mappings", "app.yaml:1", "nested deeper", "extra.a.a",
         files={"app.yaml": b"extra: " + b"{a: " * DEEP + b"}" * DEEP + b"\n"}),
    Case("json-100k-deep", "app.json:1", "nested deeper", "extra",
         files={"app.json": b'{"extra": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}"},
         env={"APP_CONFIG": b"app.json"}),
    Case("toml-100k-deep", "app.toml:2", "nested deeper", "extra",
         files={"app.toml": b"workers = 2\nextra = {a = " + b"[" * DEEP + b"]" * DEEP + b"}\n"},
         env={"APP_CONFIG": b"app.toml"}),
    Case("dotenv-json-100k-deep", ".env:1", "not valid JSON", "extra",
         files={".env": b"APP_EXTRA=" + b"[" * DEEP + b"]" * DEEP + b"\n"}),
    # --- numbers ---------------------------------------------------------------------------
    Case("yaml-5000-digits", "app.yaml:1", "digits|too large", "workers",
         files={"app.yaml": b"workers: " + DIGITS + b"\n"}),
    Case("json-5000-digits", "app.json:1", "digits", "workers",
         files={"app.json": b'{"workers": ' + DIGITS + b"}"}, env={"APP_CONFIG": b"app.json"}),
    Case("toml-5000-digits", "app.toml:2", "digits", "db.port",
         files={"app.toml": b"[db]\nport = " + DIGITS + b"\n"}, env={"APP_CONFIG": b"app.toml"}),
    Case("env-5000-digits", "APP_WORKERS", "maximum size", "workers",
         env={"APP_WORKERS": DIGITS}),
    Case("flag-5000-digits", "--workers", "maximum size", "workers",
         argv=[b"--workers", DIGITS]),
    Case("json-nan", "app.json:2", "NaN is not allowed", "workers",
         files={"app.json": b'{"name": "x",\n "workers": NaN}'}, env={"APP_CONFIG": b"app.json"}),
    Case("json-infinity", "app.json:1", "Infinity is not allowed", "extra.x",
         files={"app.json": b'{"extra": {"x": -Infinity}}'}, env={"APP_CONFIG": b"app.json"}),
    # --- files that are not files ------------------------------------------------------------
    Case("var-file-directory", "APP_NAME_FILE", "is a directory", "name",
         env={"APP_NAME_FILE": b"d"}, setup=directory("d")),
    Case("var-file-fifo", "APP_NAME_FILE", "not a regular file", "name",
         env={"APP_NAME_FILE": b"pipe"}, setup=fifo("pipe")),
    Case("var-file-dev-zero", "APP_DB__PASSWORD_FILE", "not a regular file", "db.password",
         env={"APP_DB__PASSWORD_FILE": b"/dev/zero"}),
    Case("var-file-2gb", "APP_NAME_FILE", "larger than", "name",
         env={"APP_NAME_FILE": b"big"}, setup=sparse("big", TWO_GB)),
    Case("var-file-missing", "APP_NAME_FILE", "not found", "name",
         env={"APP_NAME_FILE": b"missing"}),
    Case("config-fifo", "pipe.yaml", "not a regular file",
         env={"APP_CONFIG": b"pipe.yaml"}, setup=fifo("pipe.yaml")),
    Case("config-dev-zero", "zero.yaml", "not a regular file",
         env={"APP_CONFIG": b"zero.yaml"}, setup=link_to("zero.yaml", "/dev/zero")),
    Case("config-2gb", "big.yaml", "larger than",
         env={"APP_CONFIG": b"big.yaml"}, setup=sparse("big.yaml", TWO_GB)),
    Case("config-missing", "missing.yaml", "not found", env={"APP_CONFIG": b"missing.yaml"}),
    # --- values a lenient parser would guess at ------------------------------------------------
    Case("bool-padded", "APP_DEBUG", "valid boolean", "debug", env={"APP_DEBUG": b" true "}),
    Case("bool-two", "APP_DEBUG", "valid boolean", "debug", env={"APP_DEBUG": b"2"}),
    Case("bool-enabled", "APP_DEBUG", "valid boolean", "debug", env={"APP_DEBUG": b"enabled"}),
    Case("bool-enabled-yaml", "app.yaml:1", "valid boolean", "debug",
         files={"app.yaml": b"debug: enabled\n"}),
    Case("int-empty", "APP_WORKERS", "valid integer", "workers", env={"APP_WORKERS": b""}),
    Case("flag-int-empty", "--workers", "valid integer", "workers", argv=[b"--workers="]),
]  # fmt: skip


def matching(problems: list[Problem], case: Case) -> list[Problem]:
    return [
        p
        for p in problems
        if case.where in p.location
        and re.search(case.says, p.message)
        and (case.key is None or p.key == case.key)
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_the_library_raises_one_located_config_error(case: Case, workdir: Path) -> None:
    case.prepare(workdir)
    env = {k: os.fsdecode(v) for k, v in case.env.items()}  # as os.environ would hold them
    argv = [os.fsdecode(a) for a in case.argv]
    with pytest.raises(ConfigError) as info:
        Hostile.load(argv=argv, env=env)
    assert matching(info.value.problems, case), str(info.value)
    assert info.value.__cause__ is None
    if case.hidden:
        assert case.hidden not in str(info.value)
        assert case.hidden not in info.value.json()


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every case through the real ``envconf check``, all at once, one process each."""
    calls = []
    for case in CASES:
        folder = tmp_path_factory.mktemp(case.id)
        case.prepare(folder)
        calls.append(Call(["check", "--settings", SETTINGS, "--", *case.argv], folder, case.env))
    return dict(zip([c.id for c in CASES], envconf_many(calls), strict=True))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_the_cli_exits_with_the_located_problem_on_stderr(
    case: Case, cli_runs: dict[str, Run]
) -> None:
    run = cli_runs[case.id]
    run.assert_no_traceback()
    assert run.returncode == case.status, run.stderr
    assert run.stdout == ""
    lines = [line for line in run.stderr.splitlines() if case.where in line]
    assert any(re.search(case.says, line) for line in lines), run.stderr
    if case.key is not None:
        assert any(line.strip().startswith(f"{case.key}: ") for line in lines), run.stderr
    if case.hidden:
        assert case.hidden not in run.stderr


# --- a byte order mark is not an error -------------------------------------------------------

BOM = b"\xef\xbb\xbf"
BOM_FILES = {
    "app.yaml": b"workers: 3\n",
    "app.json": b'{"workers": 3}',
    "app.toml": b"workers = 3\n",
    "app.env": b"APP_WORKERS=3\n",
}


@pytest.mark.parametrize("name", sorted(BOM_FILES))
def test_a_utf8_bom_is_stripped_from_config_files(name: str, workdir: Path) -> None:
    (workdir / name).write_bytes(BOM + BOM_FILES[name])
    assert Hostile.load(env={"APP_CONFIG": name}).workers == 3


def test_a_utf8_bom_is_stripped_from_dotenv_and_secret_files(workdir: Path) -> None:
    (workdir / ".env").write_bytes(BOM + b"APP_WORKERS=3\n")
    (workdir / "name").write_bytes(BOM + b"from-file\n")
    settings = Hostile.load(env={"APP_NAME_FILE": "name"})
    assert (settings.workers, settings.name) == (3, "from-file")


def test_the_cli_reads_bom_files_like_any_other(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_bytes(BOM + b"workers: 3\n")
    run = envconf(["explain", "--settings", SETTINGS, "--format", "json"], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert '"key": "workers",\n      "value": 3,' in run.stdout


# --- a variable too large for execve ----------------------------------------------------------


def test_a_variable_too_large_for_execve_is_named_before_exec(tmp_path: Path) -> None:
    """A single value over Linux's 128 KiB per string fails before exec, naming it.

    Such a value cannot be passed *to* envconf through execve either, so the real CLI's
    ``main`` runs in a subprocess whose own environment grew after it started.
    """
    code = (
        "import os, sys\n"
        f"os.environ['HUGE_VALUE'] = {CANARY!r} * 8000\n"  # 240 KB
        "from envconf.cli import main\n"
        "sys.exit(main(['render', '--', 'sh', '-c', 'echo the app ran']))\n"
    )
    run = python([sys.executable, "-c", code], cwd=tmp_path)
    run.assert_no_traceback()
    assert run.returncode == 126  # cannot execute, as with --init: one check, one status
    assert run.stdout == ""  # the app never ran
    assert "environment variable HUGE_VALUE is" in run.stderr
    assert CANARY not in run.stderr


@pytest.mark.parametrize(
    ("template", "text"),
    [("a.conf.tmpl", "ok\nv=${BAD}\n"), ("b.conf.j2", "ok\nv={{ BAD }}\n"),
     ("c.conf.j2", "ok\nv={{ env.BAD }}\n")],
)  # fmt: skip
def test_render_names_a_variable_that_is_not_utf8(template: str, text: str, tmp_path: Path) -> None:
    (tmp_path / template).write_text(text)
    run = envconf(["render", "-t", f"{template}:out"], cwd=tmp_path, env={"BAD": b"caf\xe9"})
    run.assert_no_traceback()
    assert run.returncode == 1
    assert f"{template}:2" in run.stderr
    assert "BAD" in run.stderr and "not valid UTF-8" in run.stderr
    assert not (tmp_path / "out").exists()
