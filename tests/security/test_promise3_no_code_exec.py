"""Promise 3: untrusted input never executes code.

* YAML is read as an event stream: no tag can build a Python object, and alias bombs are
  capped before they expand (``yaml.load`` / ``yaml.unsafe_load`` would run
  ``os.system``; ``yaml.safe_load`` would expand a billion-laughs document).
* Jinja templates render in the sandbox, which holds against the public proofs of concept
  of every Jinja sandbox CVE; each is rendered through ``envconf render`` and through a
  ``.j2`` config file, and each tries to create a marker file or leak the ``os`` module.
  ``test_the_proofs_of_concept_are_live`` shows the same templates do escape a plain
  ``jinja2.Environment`` (the naive implementation).
* Interpolation is single-pass: a value taken from the environment is never expanded
  again, and no value, argument or file ever reaches a shell.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pytest

from envconf.errors import ConfigError

from .hostile_settings import Hostile
from .support import SETTINGS, Call, Run, envconf, envconf_many, in_parallel, python

MARKER = "PWNED"
LEAKS = ("<module 'os'", "<built-in function", "__import__", "<function", "_wrap_close")


def no_marker(folder: Path) -> None:
    assert not (folder / MARKER).exists(), "the proof of concept executed code"


def no_leak(*texts: str, shown: str = "") -> None:
    """No evidence of a reached ``os`` module (the file name, ``shown``, aside)."""
    for text in texts:
        for leak in LEAKS:
            assert leak not in text.replace(shown, ""), text


# --- YAML ----------------------------------------------------------------------------------

TOUCH = f"touch {MARKER}"
UNSAFE_YAML = {
    "object-apply": (f'name: !!python/object/apply:os.system ["{TOUCH}"]\n', 1, "name"),
    "object-new": (f'workers: 1\nname: !!python/object/new:os.system ["{TOUCH}"]\n', 2, "name"),
    "name": ("name: !!python/name:os.system\n", 1, "name"),
    "module": ("extra:\n  m: !!python/module:os\n", 2, "extra.m"),
    "top-level": (f'!!python/object/apply:os.system ["{TOUCH}"]\n', 1, ""),
    "verbatim-tag": (f'name: !<tag:yaml.org,2002:python/object/apply:os.system> ["{TOUCH}"]\n', 1,
                     "name"),
    "subprocess": (f"name: !!python/object/apply:subprocess.check_output [[sh, -c, {TOUCH}]]\n", 1,
                   "name"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(UNSAFE_YAML))
def test_python_yaml_tags_are_refused_with_a_located_error(case: str, workdir: Path) -> None:
    text, line, key = UNSAFE_YAML[case]
    (workdir / "app.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        Hostile.load(env={})
    [problem] = [p for p in info.value.problems if "is not allowed" in p.message]
    assert (problem.location, problem.key) == (f"app.yaml:{line}", key)
    assert "!!python/" in problem.message
    no_marker(workdir)


def billion_laughs() -> str:
    lines = ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):  # 10**9 nodes once expanded
        refs = ", ".join([f"*l{i - 1}"] * 10)
        lines.append(f"lol{i}: &l{i} [{refs}]")
    return "extra:\n" + "".join(f"  {line}\n" for line in lines)


def test_a_billion_laughs_document_fails_fast_with_a_located_error(workdir: Path) -> None:
    (workdir / "app.yaml").write_text(billion_laughs())
    started = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        Hostile.load(env={})
    assert time.perf_counter() - started < 1
    [problem] = info.value.problems
    assert problem.location.startswith("app.yaml:")
    assert problem.key.startswith("extra.lol")
    assert "aliases expand to more than" in problem.message


def test_the_cli_refuses_unsafe_yaml_and_alias_bombs(tmp_path: Path) -> None:
    calls = []
    for case, (text, _line, _key) in {**UNSAFE_YAML, "lol": (billion_laughs(), 0, "")}.items():
        folder = tmp_path / case
        folder.mkdir()
        (folder / "app.yaml").write_text(text)
        calls.append(Call(["check", "--settings", SETTINGS], folder))
    for call, run in zip(calls, envconf_many(calls), strict=True):
        run.assert_no_traceback()
        assert run.returncode == 1
        assert "app.yaml:" in run.stderr
        assert ("is not allowed" if call.cwd.name != "lol" else "aliases expand") in run.stderr
        no_marker(call.cwd)


# --- Jinja: the public proofs of concept ------------------------------------------------------


@dataclass(frozen=True)
class Poc:
    """A public proof of concept, adapted to the names every Jinja template can reach."""

    id: str
    template: str
    refused_by: str  # what the error says
    file_name: str = "poc.conf.j2"
    live: bool = True  # escapes a plain (unsandboxed) jinja2.Environment


POCS = [
    # str.format reads attributes the sandbox forbids (fixed in 2.8.1).
    Poc("CVE-2016-10745", '{{ "{0.__init__.__globals__[os]}".format(cycler) }}', "unsafe"),
    # str.format_map, overlooked by the first fix (fixed in 2.10.1).
    Poc("CVE-2019-10906",
        '{{ "{x.__init__.__globals__[os]}".format_map({"x": cycler}) }}', "unsafe"),
    # xmlattr keys with spaces inject attributes (fixed in 3.1.3) ...
    # (Refused by Jinja's ValueError; envconf names the error's kind, never its text, which
    # would quote a value computed from the context.)
    Poc("CVE-2024-22195", '<a {{ {"onclick=alert(1) x": "y"}|xmlattr }}>', "(ValueError)",
        live=False),
    # ... and keys with / > = (fixed in 3.1.4).
    Poc("CVE-2024-34064", '<a {{ {"x/onmouseover=alert(1)": "y", "b>": 1}|xmlattr }}>',
        "(ValueError)", live=False),
    # A template file name is compiled into the template's code (fixed in 3.1.5); envconf
    # never compiles names, and the import needs a loader it does not configure.
    Poc("CVE-2024-56201", '{% from "other.j2" import nothing %}', "cannot include, import",
        file_name=f"{{__import__('os').system('{TOUCH}')}}.conf.j2", live=False),
    # A stored reference to str.format called later (fixed in 3.1.5).
    Poc("CVE-2024-56326",
        '{% set ns = namespace(run="{0.__init__.__globals__[os]}".format) %}'
        "{{ ns.run(cycler) }}", "unsafe"),
    # The |attr filter fetches a plain str.format (fixed in 3.1.6).
    Poc("CVE-2025-27516",
        '{{ ("{0.__init__.__globals__[os]}" | attr("format"))(cycler) }}', "unsafe"),
    # The classic server-side template injection chains, which run a command.
    Poc("ssti-globals", f'{{{{ cycler.__init__.__globals__.os.system("{TOUCH}") }}}}', "unsafe"),
    Poc("ssti-attr-filter",
        f'{{{{ (lipsum | attr("__globals__")).os.popen("{TOUCH}").read() }}}}', "unsafe"),
    Poc("ssti-subclasses", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
    Poc("ssti-namespace", f'{{{{ namespace.__init__.__globals__.os.system("{TOUCH}") }}}}',
        "unsafe"),
    Poc("ssti-dict-methods", "{{ dict.__base__.__subclasses__() }}", "unsafe"),
]  # fmt: skip
IDS = [poc.id for poc in POCS]


def test_the_installed_jinja_has_every_fix() -> None:
    version = tuple(int(part) for part in jinja2.__version__.split(".")[:3])
    assert version >= (3, 1, 6)
    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    assert '"jinja2>=3.1.6"' in pyproject.read_text()


@pytest.mark.parametrize("poc", [p for p in POCS if p.live], ids=lambda p: p.id)
def test_the_proofs_of_concept_are_live(poc: Poc, workdir: Path) -> None:
    """Against a plain Environment each one runs its command or leaks the os module."""
    output = jinja2.Environment().from_string(poc.template).render()
    assert (workdir / MARKER).exists() or any(leak in output for leak in LEAKS), output


@pytest.fixture(scope="module")
def render_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Run]]:
    """Every PoC through the real ``envconf render``, in parallel."""

    def run(poc: Poc) -> tuple[Path, Run]:
        folder = tmp_path_factory.mktemp(poc.id)
        (folder / "other.j2").write_text("{% macro nothing() %}{% endmacro %}\n")
        (folder / poc.file_name).write_text("# generated\n" + poc.template + "\n")
        (folder / "out.conf").write_text("old\n")
        return folder, envconf(["render", "-t", f"{poc.file_name}:out.conf"], cwd=folder)

    return dict(zip(IDS, in_parallel(run, POCS), strict=True))


@pytest.mark.parametrize("poc", POCS, ids=IDS)
def test_render_refuses_each_proof_of_concept(
    poc: Poc, render_runs: dict[str, tuple[Path, Run]]
) -> None:
    folder, run = render_runs[poc.id]
    run.assert_no_traceback()
    assert run.returncode == 1
    assert f"{poc.file_name}:2" in run.stderr  # the template and the line of the attack
    assert poc.refused_by in run.stderr
    assert (folder / "out.conf").read_text() == "old\n"
    no_marker(folder)
    no_leak(run.stdout, run.stderr, shown=poc.file_name)


def j2_config(poc: Poc) -> str:
    return poc.file_name.replace(".conf.j2", ".yaml.j2")


@pytest.mark.parametrize("poc", POCS, ids=IDS)
def test_a_j2_config_file_refuses_each_proof_of_concept(poc: Poc, workdir: Path) -> None:
    (workdir / "other.j2").write_text("{% macro nothing() %}{% endmacro %}\n")
    (workdir / j2_config(poc)).write_text("name: x\n# " + poc.template + "\n")
    with pytest.raises(ConfigError) as info:
        Hostile.load(env={"APP_CONFIG": j2_config(poc)})
    [problem] = info.value.problems
    assert problem.location == f"{j2_config(poc)}:2"
    assert poc.refused_by in problem.message
    no_marker(workdir)
    no_leak(str(info.value), shown=j2_config(poc))


def test_the_cli_refuses_each_proof_of_concept_in_a_j2_config_file(tmp_path: Path) -> None:
    calls = []
    for poc in POCS:
        folder = tmp_path / poc.id
        folder.mkdir()
        (folder / j2_config(poc)).write_text("name: x\n# " + poc.template + "\n")
        calls.append(
            Call(["check", "--settings", SETTINGS], folder, {"APP_CONFIG": j2_config(poc)})
        )
    for poc, call, run in zip(POCS, calls, envconf_many(calls), strict=True):
        run.assert_no_traceback()
        assert run.returncode == 1, (poc.id, run.stderr)
        assert f"{j2_config(poc)}:2" in run.stderr
        no_marker(call.cwd)
        no_leak(run.stdout, run.stderr, shown=j2_config(poc))


# --- interpolation is single-pass; nothing reaches a shell -----------------------------------

HOSTILE = "${HOME}$(id)`id`$$"
HOSTILE_ENV = {"X": HOSTILE, "HOME": "/home/x"}


@pytest.mark.parametrize(
    ("files", "env"),
    [
        ({"app.yaml": "name: ${X}\n"}, {}),
        ({"app.yaml": "name: ${UNSET:-$X}\n"}, {}),
        ({"app.toml": 'name = "${X}"\n'}, {"APP_CONFIG": "app.toml"}),
        ({"app.env": "APP_NAME=${X}\n"}, {"APP_CONFIG": "app.env"}),
        ({".env": "APP_NAME=${X}\n"}, {}),
        ({"app.yaml.j2": "name: '{{ X }}'\n"}, {"APP_CONFIG": "app.yaml.j2"}),
        ({}, {"APP_NAME": HOSTILE}),
    ],
    ids=["yaml", "yaml-default", "toml", "env-config", "dotenv", "j2-config", "env"],
)
def test_a_value_from_the_environment_is_never_expanded_again(
    files: dict[str, str], env: dict[str, str], workdir: Path
) -> None:
    for name, text in files.items():
        (workdir / name).write_text(text)
    assert Hostile.load(env={**HOSTILE_ENV, **env}).name == HOSTILE


def test_render_output_keeps_the_value_literal_and_runs_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.conf.tmpl").write_text("v=${X}\n")
    (tmp_path / "b.conf.j2").write_text("v={{ X }}\n")
    hostile = f"$(touch {MARKER})`touch {MARKER}`${{HOME}}"
    run = envconf(
        ["render", "-t", "a.conf.tmpl", "-t", "b.conf.j2"], cwd=tmp_path, env={"X": hostile}
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "a.conf").read_text() == f"v={hostile}\n"
    assert (tmp_path / "b.conf").read_text() == f"v={hostile}\n"
    no_marker(tmp_path)


def test_the_command_and_its_arguments_never_go_through_a_shell(tmp_path: Path) -> None:
    hostile = f"$(touch {MARKER}); `touch {MARKER}` | touch {MARKER}"
    shown = envconf(["render", "--", "printf", "%s", hostile], cwd=tmp_path)
    assert (shown.returncode, shown.stdout) == (0, hostile)
    as_command = envconf(["render", "--", f"$(touch {MARKER})"], cwd=tmp_path)
    assert as_command.returncode == 127
    no_marker(tmp_path)


def test_a_script_without_a_shebang_is_not_handed_to_sh(tmp_path: Path) -> None:
    """``execvp`` runs such a file with /bin/sh; envconf reports an exec format error."""
    script = tmp_path / "app"
    script.write_text(f"touch {MARKER}\n")
    script.chmod(0o755)
    run = envconf(["render", "--", "./app"], cwd=tmp_path)
    assert run.returncode == 126
    assert "exec format error" in run.stderr
    no_marker(tmp_path)


def test_the_cli_shows_the_value_literally(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text("name: ${X}\n")
    run = python(
        [sys.executable, "-m", "envconf", "explain", "--settings", SETTINGS, "--format", "json"],
        cwd=tmp_path,
        env=HOSTILE_ENV,
    )
    assert run.returncode == 0, run.stderr
    assert f'"value": "{HOSTILE}"' in run.stdout
