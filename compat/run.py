"""Measure how much of pydantic-settings' own test suite passes against envconf.

The sdist of the installed pydantic-settings version is downloaded (and cached), eight of its
test files are run twice with pytest in a separate virtualenv and a clean environment:

* baseline: the files as they ship;
* swapped:  the same files with ``BaseSettings`` and ``SettingsConfigDict`` imported from
  envconf (``from envconf import Settings as BaseSettings, SettingsConfigDict``); every other
  name still comes from pydantic-settings.

A test counts as passing in the swapped run only when it also passed in the baseline run.
The last line printed is ``compat: S / B = X%``. Standard library only; see compat/README.md.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = Path.home() / ".cache" / "envconf" / "compat"
FAILURES_FILE = REPO / "compat" / "failures.txt"

DISTRIBUTION = "pydantic-settings"
PACKAGE = "pydantic_settings"
TEST_FILES = (
    "tests/test_settings.py",
    "tests/test_precedence_and_merging.py",
    "tests/test_source_cli.py",
    "tests/test_source_json.py",
    "tests/test_source_toml.py",
    "tests/test_source_yaml.py",
    "tests/test_source_nested_secrets.py",
    "tests/test_source_pyproject_toml.py",
)
# pydantic-settings name -> envconf name.
SWAP = {"BaseSettings": "Settings", "SettingsConfigDict": "SettingsConfigDict"}
# Test-only dependencies of the eight files beyond envconf's own (pydantic-settings, PyYAML,
# python-dotenv): pytest-mock for test_source_pyproject_toml.py. pytest is pinned to the
# project venv's version when it has one.
TEST_DEPS = ("pytest", "pytest-mock")
RUNS = ("baseline", "swapped")
DEFAULT_TIMEOUT = 1800.0


class CompatError(Exception):
    """An infrastructure failure: the measurement could not be made."""


class Outcome(NamedTuple):
    status: str  # "passed", "failed", "skipped"
    message: str  # summary line of the failure or skip message, "" when passed
    detail: str  # the whole message (capped), "" when passed


class RunResult(NamedTuple):
    outcomes: dict[str, Outcome]  # test id -> outcome
    collection_errors: dict[str, str]  # test file -> first line of the error
    seconds: float


# --------------------------------------------------------------------------- helpers


def say(message: str) -> None:
    print(message, flush=True)


def first_line(text: str | None, limit: int = 240) -> str:
    """The first non-blank line; one ending in ':' ("3 configuration problems:") gets the next."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[0]
    if line.endswith(":") and len(lines) > 1:
        line = f"{line} {lines[1]}"
    return line if len(line) <= limit else line[: limit - 3] + "..."


def run_checked(cmd: Sequence[str], what: str, cwd: str | None = None) -> str:
    """Run a command, raise CompatError with the tail of its output when it fails."""
    try:
        proc = subprocess.run(
            list(cmd),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
            cwd=cwd,
        )
    except OSError as exc:
        raise CompatError(f"{what}: cannot run {cmd[0]}: {exc}") from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-25:])
        raise CompatError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return str(proc.stdout)


def installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


@contextlib.contextmanager
def scratch_dir(parent: Path, prefix: str) -> Iterator[Path]:
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- sdist


def fetch_sdist(version: str, cache: Path) -> Path:
    """The extracted sdist of pydantic-settings==version, downloaded once into the cache."""
    sdist_dir = cache / "sdist"
    target = cache / "src" / f"{PACKAGE}-{version}"
    if (target / "tests").is_dir():
        return target

    archives = sorted(sdist_dir.glob(f"{PACKAGE}-{version}.tar.gz")) + sorted(
        sdist_dir.glob(f"{DISTRIBUTION}-{version}.tar.gz")
    )
    if archives:
        archive = archives[0]
    else:
        say(f"==> downloading the {DISTRIBUTION} {version} sdist")
        with scratch_dir(cache, ".download-") as tmp:
            run_checked(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    f"{DISTRIBUTION}=={version}",
                    "-d",
                    str(tmp),
                ],
                "pip download",
            )
            found = sorted(tmp.glob("*.tar.gz"))
            if len(found) != 1:
                raise CompatError(f"pip download left {[p.name for p in found]} in {tmp}")
            sdist_dir.mkdir(parents=True, exist_ok=True)
            archive = sdist_dir / found[0].name
            shutil.move(str(found[0]), archive)

    say(f"==> extracting {archive.name}")
    with scratch_dir(cache, ".extract-") as tmp:
        try:
            with tarfile.open(archive) as tar:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(tmp, filter="data")
                else:  # pragma: no cover - Python without extraction filters
                    for member in tar.getmembers():
                        if member.name.startswith("/") or ".." in Path(member.name).parts:
                            raise CompatError(f"unsafe path in {archive}: {member.name}")
                    tar.extractall(tmp)
        except (tarfile.TarError, OSError) as exc:
            raise CompatError(f"cannot extract {archive}: {exc}") from exc
        roots = [p for p in tmp.iterdir() if p.is_dir()]
        if len(roots) != 1 or not (roots[0] / "tests").is_dir():
            raise CompatError(f"{archive} does not hold one project directory with tests/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(roots[0]), target)
    return target


# --------------------------------------------------------------------------- venv


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(cache: Path, version: str, rebuild: bool) -> Path:
    """A virtualenv with envconf (editable), the pinned pydantic-settings and the test deps."""
    pins = [f"{DISTRIBUTION}=={version}"]
    pydantic_version = installed_version("pydantic")
    if pydantic_version:
        pins.append(f"pydantic=={pydantic_version}")
    for dep in TEST_DEPS:
        dep_version = installed_version(dep)
        pins.append(f"{dep}=={dep_version}" if dep_version else dep)
    pyproject = (REPO / "pyproject.toml").read_bytes()
    spec = {
        "python": sys.version.split()[0],
        "repo": str(REPO),
        "pins": pins,
        "pyproject_sha256": hashlib.sha256(pyproject).hexdigest(),
    }
    venv = cache / "venv"
    stamp = venv / ".compat-stamp.json"
    if not rebuild and stamp.is_file() and venv_python(venv).exists():
        with contextlib.suppress(ValueError, OSError):
            if json.loads(stamp.read_text()) == spec:
                return venv

    say(f"==> creating the test virtualenv {venv}")
    if venv.exists():
        shutil.rmtree(venv)
    run_checked([sys.executable, "-m", "venv", str(venv)], "creating the test virtualenv")
    say(f"==> installing envconf (editable) + {' '.join(pins)}")
    run_checked(
        [str(venv_python(venv)), "-m", "pip", "install", "--quiet", "-e", str(REPO), *pins],
        "pip install into the test virtualenv",
    )
    stamp.write_text(json.dumps(spec, indent=2) + "\n")
    return venv


def check_venv(venv: Path, version: str) -> None:
    """The venv imports the pinned pydantic-settings and this checkout's envconf."""
    probe = (
        "import json, envconf, pydantic_settings; "
        "print(json.dumps([pydantic_settings.VERSION, envconf.__file__]))"
    )
    out = run_checked(
        [str(venv_python(venv)), "-c", probe], "importing envconf in the test venv", cwd="/"
    )
    found_version, envconf_file = json.loads(out.strip().splitlines()[-1])
    if found_version != version:
        raise CompatError(f"test venv has {DISTRIBUTION} {found_version}, expected {version}")
    if not Path(envconf_file).resolve().is_relative_to(REPO):
        raise CompatError(f"test venv imports envconf from {envconf_file}, not from {REPO}")


# --------------------------------------------------------------------------- rewriting


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _is_package(module: str | None) -> bool:
    return module is not None and (module == PACKAGE or module.startswith(PACKAGE + "."))


def _alias(name: str, bound: str) -> str:
    return name if name == bound else f"{name} as {bound}"


def swap_imports(source: str, filename: str = "<test>") -> tuple[str, int]:
    """Take BaseSettings and SettingsConfigDict from envconf; return (new source, edits).

    ``from pydantic_settings[.x] import ...`` statements that name them are rewritten to a
    single line (padded with blank lines, so every other line keeps its number) that keeps
    the other names from pydantic-settings. Attribute uses through ``import pydantic_settings``
    (``pydantic_settings.BaseSettings``) become ``__import__('envconf').Settings``.
    """
    tree = ast.parse(source, filename)
    lines = source.splitlines(keepends=True)
    line_edits: dict[int, tuple[int, str]] = {}  # first line (0-based) -> (end, new text)
    span_edits: list[tuple[int, int, int, str]] = []  # (line, start byte, end byte, text)
    module_names: set[str] = set()  # names bound to the package by `import pydantic_settings`

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_package(alias.name):
                    module_names.add(alias.asname or alias.name.split(".")[0])
        if not (isinstance(node, ast.ImportFrom) and node.level == 0 and _is_package(node.module)):
            continue
        star = any(alias.name == "*" for alias in node.names)
        swapped = [(a.name, a.asname or a.name) for a in node.names if a.name in SWAP]
        if star:
            swapped = [(name, name) for name in SWAP]
        if not swapped:
            continue
        kept = [_alias(a.name, a.asname or a.name) for a in node.names if a.name not in SWAP]
        start, end = node.lineno - 1, (node.end_lineno or node.lineno)
        head = lines[start].encode()[: node.col_offset].decode()
        tail = lines[end - 1].encode()[node.end_col_offset or 0 :].decode().strip()
        if head.strip() or (tail and not tail.startswith("#")):
            raise CompatError(f"{filename}:{node.lineno}: import shares its line; cannot rewrite")
        statements = []
        if kept:
            statements.append(f"from {node.module} import {', '.join(kept)}")
        envconf_names = ", ".join(_alias(SWAP[name], bound) for name, bound in swapped)
        statements.append(f"from envconf import {envconf_names}")
        text = head + "; ".join(statements) + "\n" + "\n" * (end - start - 1)
        line_edits[start] = (end, text)

    if module_names:
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr in SWAP):
                continue
            base = _dotted(node.value)
            if base is None or base.split(".")[0] not in module_names:
                continue
            if not _is_package(PACKAGE + base[len(base.split(".")[0]) :]):
                continue
            if node.lineno != node.end_lineno:
                raise CompatError(f"{filename}:{node.lineno}: multi-line attribute; cannot rewrite")
            replacement = f"__import__('envconf').{SWAP[node.attr]}"
            span_edits.append(
                (node.lineno - 1, node.col_offset, node.end_col_offset or 0, replacement)
            )

    raw = [line.encode() for line in lines]
    for line, begin, stop, text in sorted(span_edits, reverse=True):
        raw[line] = raw[line][:begin] + text.encode() + raw[line][stop:]
    out: list[str] = []
    index = 0
    while index < len(raw):
        if index in line_edits:
            stop, text = line_edits[index]
            out.append(text)
            index = stop
        else:
            out.append(raw[index].decode())
            index += 1
    new_source = "".join(out)
    leftovers = unswapped_uses(new_source, filename)
    if leftovers:
        raise CompatError(f"{filename}: still takes {', '.join(leftovers)} from {PACKAGE}")
    return new_source, len(line_edits) + len(span_edits)


def unswapped_uses(source: str, filename: str) -> list[str]:
    """Places where BaseSettings/SettingsConfigDict would still come from pydantic-settings."""
    found = []
    tree = ast.parse(source, filename)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and _is_package(node.module):
            for alias in node.names:
                if alias.name in SWAP:
                    found.append(f"{alias.name} (line {node.lineno})")
        if isinstance(node, ast.Attribute) and node.attr in SWAP:
            base = _dotted(node.value)
            if base is not None and _is_package(base):
                found.append(f"{base}.{node.attr} (line {node.lineno})")
    return found


# --------------------------------------------------------------------------- running


def prepare_run_dir(src: Path, run_dir: Path, swap: bool) -> int:
    """Copy the sdist's pytest config and the needed tests/ files; rewrite them when swap."""
    if run_dir.exists():
        shutil.rmtree(run_dir)
    (run_dir / "tests").mkdir(parents=True)
    # The sdist's pyproject.toml carries its pytest configuration (filterwarnings = error).
    shutil.copy2(src / "pyproject.toml", run_dir / "pyproject.toml")
    wanted = set(TEST_FILES)
    for path in sorted((src / "tests").iterdir()):
        rel = f"tests/{path.name}"
        if path.name.startswith("test_") and path.suffix == ".py" and rel not in wanted:
            continue  # other test files (cloud providers, docs): not run
        if path.is_dir():
            shutil.copytree(path, run_dir / rel)
        else:
            shutil.copy2(path, run_dir / rel)
    missing = [rel for rel in TEST_FILES if not (run_dir / rel).is_file()]
    if missing:
        raise CompatError(f"the sdist in {src} lacks {', '.join(missing)}")
    edits = 0
    if swap:
        for rel in TEST_FILES:
            path = run_dir / rel
            new_source, count = swap_imports(path.read_text(encoding="utf-8"), rel)
            if count == 0:
                say(f"    note: {rel} does not import BaseSettings/SettingsConfigDict")
            path.write_text(new_source, encoding="utf-8")
            edits += count
    return edits


def clean_env(venv: Path) -> dict[str, str]:
    """PATH, HOME and LANG only: nothing from the caller's environment leaks into tests."""
    return {
        "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(Path.home()),
        "LANG": "C.UTF-8",
    }


def pytest_command(venv: Path, run_dir: Path, basetemp: Path) -> list[str]:
    return [
        str(venv_python(venv)),
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        # pytest's own traceback styles re-parse the 6000-line test files for every entry
        # of every failure (minutes with ~700 failures); native ones cost nothing.
        "--tb=native",
        "-o",
        "junit_family=xunit1",
        f"--junitxml={run_dir / 'junit.xml'}",
        # Outside the run dir: its pyproject.toml would be found by the tests that search
        # upwards from tmp_path for one (test_source_pyproject_toml.py).
        f"--basetemp={basetemp}",
        # A test file that cannot be imported with envconf costs its tests, not the run.
        "--continue-on-collection-errors",
        *TEST_FILES,
    ]


def run_pytest(venv: Path, run_dirs: dict[str, Path], serial: bool, timeout: float) -> str:
    """Run pytest in every run dir (both at once unless serial); check that each ran.

    Returns the prefix of the runs' temporary directories (``<prefix><run name>/...``).
    """
    started: dict[str, tuple[subprocess.Popen[bytes], float]] = {}
    logs = {}
    temp_root = Path(tempfile.mkdtemp(prefix="envconf-compat-"))

    def start(name: str) -> None:
        run_dir = run_dirs[name]
        logs[name] = (run_dir / "pytest.log").open("wb")
        proc = subprocess.Popen(
            pytest_command(venv, run_dir, temp_root / name),
            cwd=run_dir,
            env=clean_env(venv),
            stdin=subprocess.DEVNULL,
            stdout=logs[name],
            stderr=subprocess.STDOUT,
        )
        started[name] = (proc, time.monotonic())

    def finish(name: str) -> None:
        proc, began = started[name]
        try:
            code = proc.wait(timeout=max(1.0, began + timeout - time.monotonic()))
        except subprocess.TimeoutExpired:
            for other, _ in started.values():
                other.kill()
            raise CompatError(f"{name} pytest run exceeded --timeout {timeout:.0f}s") from None
        finally:
            logs[name].close()
        log = run_dirs[name] / "pytest.log"
        say(f"    {name}: pytest exit {code} after {time.monotonic() - began:.0f}s (log: {log})")
        if code not in (0, 1) or not (run_dirs[name] / "junit.xml").is_file():
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
            raise CompatError(f"{name} pytest run did not complete (exit {code}):\n{tail}")

    try:
        if serial:
            for name in run_dirs:
                start(name)
                finish(name)
        else:
            for name in run_dirs:
                start(name)
            for name in run_dirs:
                finish(name)
    finally:
        for proc, _ in started.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(temp_root, ignore_errors=True)
    return f"{temp_root}/"


def parse_junit(path: Path, temp_prefix: str = "") -> RunResult:
    """Outcomes by test id; the random temp dir prefix in messages becomes ``<tmp>/``."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise CompatError(f"cannot parse {path}: {exc}") from exc
    outcomes: dict[str, Outcome] = {}
    collection_errors: dict[str, str] = {}
    seconds = 0.0
    for suite in root.iter("testsuite"):
        with contextlib.suppress(ValueError):
            seconds += float(suite.get("time", "0"))
    for case in root.iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        for child in case:
            if temp_prefix and child.get("message"):
                child.set("message", child.get("message", "").replace(temp_prefix, "<tmp>/"))
        problems = [child for child in case if child.tag in ("failure", "error")]
        skipped = case.find("skipped")
        if not classname:  # a collection error: name is the module, dotted
            file = case.get("file") or name.replace(".", "/") + ".py"
            message = problems[0].get("message", "") if problems else ""
            details = problems[0].text if problems else ""
            collection_errors[file] = first_line(details) or first_line(message)
            continue
        file = case.get("file") or classname.replace(".", "/") + ".py"
        module = file.removesuffix(".py").replace("/", ".")
        classes = classname[len(module) + 1 :] if classname.startswith(module) else ""
        test_id = "::".join([file, *([c for c in classes.split(".") if c]), name])
        if problems:
            message = problems[0].get("message") or problems[0].tag
            outcome = Outcome("failed", first_line(message), message[:2000])
        elif skipped is not None:
            message = skipped.get("message") or "skipped"
            outcome = Outcome("skipped", first_line(message), message[:2000])
        else:
            outcome = Outcome("passed", "", "")
        previous = outcomes.get(test_id)
        if previous is None or previous.status == "passed":
            outcomes[test_id] = outcome  # a teardown error turns a pass into a failure
    return RunResult(outcomes, collection_errors, seconds)


# --------------------------------------------------------------------------- reporting


PARAM_SETTINGS = re.compile(r"(?<![\w.])Settings(?!\w)")


def align_ids(baseline: RunResult, swapped: RunResult) -> RunResult:
    """Rename swapped test ids whose parameters name the class: envconf's is ``Settings``.

    ``@pytest.mark.parametrize('cls', [BaseSettings, ...])`` ids read ``...-BaseSettings]``
    in the baseline run and ``...-Settings]`` in the swapped one; both are the same test.
    """
    outcomes: dict[str, Outcome] = {}
    for test_id, outcome in swapped.outcomes.items():
        head, bracket, params = test_id.partition("[")
        if bracket and test_id not in baseline.outcomes:
            candidate = head + bracket + PARAM_SETTINGS.sub("BaseSettings", params)
            if candidate in baseline.outcomes and candidate not in swapped.outcomes:
                test_id = candidate
        outcomes[test_id] = outcome
    return swapped._replace(outcomes=outcomes)


def file_of(test_id: str) -> str:
    return test_id.split("::", 1)[0]


def percent(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def regression_message(test_id: str, swapped: RunResult) -> str:
    outcome = swapped.outcomes.get(test_id)
    if outcome is not None:
        prefix = "skipped: " if outcome.status == "skipped" else ""
        return prefix + outcome.message
    error = swapped.collection_errors.get(file_of(test_id))
    if error:
        return f"not run (collection error: {error})"
    return "not run in the swapped run"


def failure_kind(message: str) -> str:
    """A rough group for a failure message: the exception name or the assertion kind."""
    envconf_error = re.match(r"envconf\.[\w.]*?(\w+): \d+ configuration problem", message)
    if envconf_error:
        name = envconf_error.group(1)
        init_key = re.search(r"(_\w+): init: unknown key", message)
        if init_key:
            return f"{name} (init kwarg {init_key.group(1)})"
        if "required, not set" in message:
            return f"{name} (required, not set)"
        return f"{name} (value rejected)"
    match = re.match(r"([A-Za-z_][\w.]*(?:Error|Exception|Warning|Failed|Exit))\b", message)
    if match:
        return match.group(1)
    if message.startswith("assert"):
        return "assert"
    return message.split(":", 1)[0][:60] or "(no message)"


def write_failures(regressions: dict[str, str], version: str, passed: int, total: int) -> None:
    lines = [
        f"# pydantic-settings {version} tests that pass with pydantic_settings.BaseSettings",
        "# and fail with envconf.Settings; written by `python compat/run.py --write-failures`.",
        f"# compat: {passed} / {total} = {percent(passed, total)}; {len(regressions)} listed.",
        "# Format: TEST_ID => first line of the failure message.",
    ]
    lines += [f"{test_id} => {regressions[test_id]}" for test_id in sorted(regressions)]
    FAILURES_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")


def report(
    version: str,
    cache: Path,
    results: dict[str, RunResult],
    write_failures_file: bool,
    started: float,
) -> tuple[int, int]:
    baseline, swapped = results["baseline"], results["swapped"]
    if swapped.collection_errors or baseline.collection_errors:
        for name, result in results.items():
            for file, error in sorted(result.collection_errors.items()):
                say(f"    {name}: collection error in {file}: {error}")
    if baseline.collection_errors:
        raise CompatError("the baseline run has collection errors; see above")
    base_pass = {t for t, o in baseline.outcomes.items() if o.status == "passed"}
    if not base_pass:
        raise CompatError("no test passed in the baseline run")
    swap_pass = {
        t for t in base_pass if t in swapped.outcomes and swapped.outcomes[t].status == "passed"
    }
    regressions = {t: regression_message(t, swapped) for t in base_pass - swap_pass}
    base_other = Counter(o.status for o in baseline.outcomes.values() if o.status != "passed")
    swapped_only = sorted(
        t
        for t, o in swapped.outcomes.items()
        if o.status == "passed" and t not in base_pass and t in baseline.outcomes
    )

    say("")
    say(
        f"baseline: {len(baseline.outcomes)} tests, {len(base_pass)} passed"
        + "".join(f", {n} {status}" for status, n in sorted(base_other.items()))
    )
    if swapped_only:
        say(f"swapped:  {len(swapped_only)} tests pass only with envconf (not counted)")
    per_file: dict[str, dict[str, int]] = {}
    for rel in TEST_FILES:
        b = sum(1 for t in base_pass if file_of(t) == rel)
        s = sum(1 for t in swap_pass if file_of(t) == rel)
        per_file[rel] = {"swapped": s, "baseline": b}
        say(f"{rel}: {s} / {b} = {percent(s, b)}")

    kinds = Counter(failure_kind(message) for message in regressions.values())
    if kinds:
        say("failures by kind: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common(8)))

    elapsed = time.monotonic() - started
    data = {
        "version": version,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_seconds": round(elapsed, 1),
        "pytest_seconds": {name: round(r.seconds, 1) for name, r in results.items()},
        "baseline_passed": len(base_pass),
        "swapped_passed": len(swap_pass),
        "percent": round(100.0 * len(swap_pass) / len(base_pass), 2),
        "files": per_file,
        "baseline_not_passed": {
            t: f"{o.status}: {o.message}"
            for t, o in sorted(baseline.outcomes.items())
            if o.status != "passed"
        },
        "swapped_only_passes": swapped_only,
        "collection_errors": {name: r.collection_errors for name, r in results.items()},
        "regressions": dict(sorted(regressions.items())),
        "regression_details": {
            t: swapped.outcomes[t].detail for t in sorted(regressions) if t in swapped.outcomes
        },
    }
    report_path = cache / "report.json"
    report_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    say(f"report: {report_path}")
    if write_failures_file:
        write_failures(regressions, version, len(swap_pass), len(base_pass))
        say(f"failures: {FAILURES_FILE} ({len(regressions)} tests)")
    say(f"took {elapsed:.0f}s")
    say(f"compat: {len(swap_pass)} / {len(base_pass)} = {percent(len(swap_pass), len(base_pass))}")
    return len(swap_pass), len(base_pass)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run pydantic-settings' tests with BaseSettings taken from envconf."
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("ENVCONF_COMPAT_CACHE", DEFAULT_CACHE)),
        help="sdist, test venv, run dirs and report.json (default: %(default)s)",
    )
    parser.add_argument(
        "--min",
        type=float,
        metavar="PERCENT",
        help="exit 1 when the total is below PERCENT",
    )
    parser.add_argument(
        "--write-failures",
        action="store_true",
        help=f"write the tests that regress to {FAILURES_FILE.relative_to(REPO)}",
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="recreate the test virtualenv even if up to date"
    )
    parser.add_argument(
        "--serial", action="store_true", help="run baseline and swapped one after the other"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="limit for each pytest run (default: %(default).0f)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    cache: Path = args.cache_dir.expanduser().resolve()
    try:
        version = installed_version(DISTRIBUTION)
        if version is None:
            raise CompatError(f"{DISTRIBUTION} is not installed for {sys.executable}")
        say(f"==> {DISTRIBUTION} {version}, cache {cache}")
        src = fetch_sdist(version, cache)
        venv = ensure_venv(cache, version, args.rebuild)
        check_venv(venv, version)
        run_dirs = {name: cache / "runs" / name for name in RUNS}
        prepare_run_dir(src, run_dirs["baseline"], swap=False)
        edits = prepare_run_dir(src, run_dirs["swapped"], swap=True)
        say(f"==> swapped run: {edits} imports rewritten in {len(TEST_FILES)} files")
        say(f"==> running {len(TEST_FILES)} test files, baseline and swapped")
        temp_prefix = run_pytest(venv, run_dirs, args.serial, args.timeout)
        results = {name: parse_junit(run_dirs[name] / "junit.xml", temp_prefix) for name in RUNS}
        results["swapped"] = align_ids(results["baseline"], results["swapped"])
        passed, total = report(version, cache, results, args.write_failures, started)
    except (CompatError, OSError) as exc:
        print(f"compat: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("compat: interrupted", file=sys.stderr)
        return 130
    if args.min is not None and 100.0 * passed / total < args.min:
        print(f"compat: {percent(passed, total)} is below --min {args.min}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
