"""The attack classes of the second security review, each closed at its root.

Every case runs the real CLI (or the library) with a canary secret and asserts it is
absent from stdout and stderr in every form, and that no traceback is printed.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import envconf
from envconf.render.jinja_cache import JinjaCache

from .hostile_settings import Hostile
from .support import BASE_ENV, CANARY, SETTINGS
from .support import envconf as run_envconf

FORMS = [CANARY, CANARY.upper(), CANARY[::-1], CANARY[1:], CANARY[5:25]]


def assert_hidden(*texts: str) -> None:
    for text in texts:
        for form in FORMS:
            assert form not in text, (form, text)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "secrets").mkdir()
    return tmp_path


# --- 1, 5: a template sees data, never the settings class or its methods -----------------------


@pytest.mark.parametrize(
    "template",
    [
        '{{ settings.load(argv=["--help"]) }}',
        "{{ settings.load(env={'APP_NAME_FILE': '/etc/hostname'}).name }}",
        "{{ settings.__class__ }}",
        "{{ settings.model_validate({}) }}",
    ],
)
def test_a_template_can_neither_end_envconf_nor_load_settings(template: str, work: Path) -> None:
    (work / "t.j2").write_text(template + "\n")
    run = run_envconf(
        ["render", "--settings", SETTINGS, "-t", "t.j2:out", "--", "sh", "-c", "echo app-started"],
        cwd=work,
    )
    run.assert_no_traceback()
    assert run.returncode == 1, run.stderr
    assert "app-started" not in run.stdout  # the app never started on a broken template
    assert "t.j2:1" in run.stderr
    assert not (work / "out").exists()


def test_the_template_still_gets_every_value_and_secrets_on_request(work: Path) -> None:
    (work / "t.j2").write_text(
        "{{ settings.workers }} {{ settings.db.host }} {{ settings.token.get_secret_value() }}\n"
    )
    env = {"APP_WORKERS": "3", "APP_TOKEN": "t" * 40}
    run = run_envconf(["render", "--settings", SETTINGS, "-t", "t.j2:out"], cwd=work, env=env)
    assert run.returncode == 0, run.stderr
    assert (work / "out").read_text() == f"3 localhost {'t' * 40}\n"


# --- 2, 6: values read from secret files are secrets, whatever the field's type ----------------


def test_explain_hides_values_from_var_file_and_secrets_dir_for_plain_str(work: Path) -> None:
    (work / "dsn").write_text(f"postgres://app:{CANARY}@db/app\n")
    (work / "secrets" / "name").write_text(CANARY)
    env = {"APP_DB__DSN_FILE": "dsn"}
    table = run_envconf(["explain", "--settings", SETTINGS], cwd=work, env=env)
    doc = run_envconf(["explain", "--settings", SETTINGS, "--format", "json"], cwd=work, env=env)
    assert table.returncode == doc.returncode == 0, table.stderr
    assert_hidden(table.stdout, table.stderr, doc.stdout, doc.stderr)
    values = {k["key"]: k["value"] for k in json.loads(doc.stdout)["keys"]}
    assert values["db.dsn"] == values["name"] == "**********"


def test_a_json_var_file_for_a_nested_model_never_shows_its_values(work: Path) -> None:
    (work / "db.json").write_text(json.dumps({"port": CANARY, "host": CANARY}))
    with pytest.raises(envconf.ConfigError) as info:
        Hostile.load(env={"APP_DB_FILE": str(work / "db.json")})
    assert "db.port" in str(info.value)
    assert_hidden(str(info.value), repr(info.value.problems), info.value.json())


# --- 3: a "$" inside a secret never names the rest of it -----------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".env", f"APP_DB__PASSWORD=Pa${CANARY}\n"),
        (".env", f'APP_TOKEN="x${CANARY.replace("-", "_")}"\n'),
        ("app.yaml", f"db:\n  password: Pa${CANARY}\n"),
        ("app.yaml", f"token: x${CANARY.replace('-', '_')}\n"),
    ],
)
def test_a_dollar_in_a_secret_never_leaks_the_rest(name: str, text: str, work: Path) -> None:
    (work / name).write_text(text)
    run = run_envconf(["check", "--settings", SETTINGS], cwd=work)
    run.assert_no_traceback()
    assert run.returncode == 1
    assert "the text is not shown because this key is a secret" in run.stderr
    assert_hidden(run.stdout, run.stderr)
    assert CANARY.replace("-", "_") not in run.stdout + run.stderr


# --- 4: a long secret is hidden whole, before any value is shortened ----------------------------


def test_a_secret_longer_than_a_line_is_hidden_whole(work: Path) -> None:
    long_secret = (CANARY + "-") * 4  # 124 characters
    (work / "app.yaml").write_text("workers: ${APP_TOKEN}\n")
    run = run_envconf(["check", "--settings", SETTINGS], cwd=work, env={"APP_TOKEN": long_secret})
    assert run.returncode == 1
    assert "workers" in run.stderr
    assert_hidden(run.stderr, run.stdout)


# --- 7: --wait masks a URL password however it is written ---------------------------------------


@pytest.mark.parametrize(
    "url", [f"http://user:pa@ss-{CANARY}@127.0.0.1:9/", f"http://user:pa/{CANARY}@127.0.0.1:9/x"]
)
def test_wait_never_prints_a_url_password(url: str, work: Path) -> None:
    run = run_envconf(["render", "--wait", url, "--timeout", "0.2", "--", "true"], cwd=work)
    assert run.returncode in (1, 2)  # down, or not even a URL (a "/" in the password)
    assert "127.0.0.1:9" in run.stderr
    assert_hidden(run.stderr, run.stdout)


# --- 8: outputs never carry set-id bits --------------------------------------------------------


def test_set_id_bits_are_never_copied_from_a_template(work: Path) -> None:
    (work / "t.tmpl").write_text("x\n")
    (work / "t.tmpl").chmod(0o6777)
    run = run_envconf(["render", "-t", "t.tmpl:out"], cwd=work)
    assert run.returncode == 0, run.stderr
    assert stat.S_IMODE((work / "out").stat().st_mode) == 0o0777
    refused = run_envconf(["render", "-t", "t.tmpl:out2", "--mode", "4755"], cwd=work)
    assert refused.returncode == 1
    assert "set-user-ID" in refused.stderr and not (work / "out2").exists()


# --- 9: a closed stderr never stops the app ----------------------------------------------------


def test_a_closed_stderr_does_not_stop_the_app(work: Path) -> None:
    (work / "t.tmpl").write_text("x\n")
    command = [sys.executable, "-m", "envconf", "render", "-t", "t.tmpl:out", "--", "echo", "ran"]
    script = 'exec "$@" 2>&-'
    proc = subprocess.run(
        ["sh", "-c", script, "sh", *command],
        cwd=work,
        env=BASE_ENV,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, "ran\n")
    assert (work / "out").read_text() == "x\n"


# --- 10, 11: template errors name the kind and the line, never a value, never a traceback --------


@pytest.mark.parametrize(
    "template",
    [
        "{{ {}[DB_PASSWORD|upper] }}",
        "{{ {}[DB_PASSWORD|reverse] }}",
        "{{ {}[DB_PASSWORD[1:]] }}",
        "{{ {}[DB_PASSWORD|list|join('-')] }}",
        "{{ cycler().next() }}",
        "{{ 'abc'|truncate(-5) }}",
        "{{ 'inf'|float|int }}",
        "{% if a %}" * 120 + "x" + "{% endif %}" * 120,
        "{{ " + "(" * 300 + "1" + ")" * 300 + " }}",
        "{{ " + "[" * 3000 + "]" * 3000 + " }}",
    ],
    ids=[
        "upper",
        "reverse",
        "slice",
        "list",
        "cycler",
        "truncate",
        "inf",
        "nested-blocks",
        "nested-parens",
        "nested-lists",
    ],
)
def test_hostile_templates_fail_located_without_value_or_traceback(
    template: str, work: Path
) -> None:
    (work / "t.j2").write_text(template + "\n")
    (work / "app.yaml.j2").write_text("name: '" + template + "'\n")
    env = {"DB_PASSWORD": CANARY, "APP_CONFIG": "app.yaml.j2"}
    render = run_envconf(["render", "-t", "t.j2:out"], cwd=work, env=env)
    check = run_envconf(["check", "--settings", SETTINGS], cwd=work, env=env)
    for run, where in ((render, "t.j2:"), (check, "app.yaml.j2:")):
        run.assert_no_traceback()
        assert run.returncode == 1, run.stderr
        assert where in run.stderr
        assert_hidden(run.stdout, run.stderr)


def test_a_json_surrogate_escape_is_shown_not_a_crash(work: Path) -> None:
    (work / "c.json").write_text('{"name": "a\\ud800b"}')
    env = {"APP_CONFIG": "c.json"}
    for args in (["check"], ["explain"], ["explain", "--format", "json"]):
        run = run_envconf([*args, "--settings", SETTINGS], cwd=work, env=env)
        run.assert_no_traceback()
        assert run.returncode == 0, run.stderr


def test_a_default_factory_that_takes_the_validated_data_works(work: Path) -> None:
    from pydantic import Field

    class Derived(envconf.Settings):
        model_config = envconf.SettingsConfigDict(secrets_dir=None)
        a: int = 2
        b: int = Field(default_factory=lambda data: data["a"] * 2)

    settings = Derived.load(env={"A": "5"})
    assert settings.b == 10
    assert "b" in envconf.explain(settings)
    from envconf.tools.docs import markdown_reference

    assert "(computed from other fields)" in markdown_reference(Derived)


# --- 12: templates are capped like config files ------------------------------------------------


def test_a_template_over_the_size_cap_is_refused_without_reading_it(work: Path) -> None:
    big = work / "big.tmpl"
    with big.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024 + 1)  # sparse: costs no disk
    run = run_envconf(["render", "-t", "big.tmpl:out"], cwd=work)
    run.assert_no_traceback()
    assert run.returncode == 1
    assert "larger than 67108864 bytes" in run.stderr


# --- 13: SIGTERM while --settings is being imported ---------------------------------------------


def test_sigterm_while_importing_settings_exits_143(work: Path) -> None:
    (work / "slow.py").write_text(
        "import sys, time\nsys.stderr.write('importing\\n'); sys.stderr.flush()\ntime.sleep(30)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "envconf", "render", "--settings", "slow.py:S", "--", "true"],
        cwd=work,
        env={**BASE_ENV, "PYTHONPATH": os.pathsep.join(sys.path)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    assert proc.stderr.readline() == "importing\n"  # the handler is installed by now
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 128 + signal.SIGTERM
    assert "stopped by SIGTERM" in proc.stderr.read()


# --- 14: a long legal file name never fails on the temporary name --------------------------------


def test_a_long_multibyte_file_name_is_written(work: Path) -> None:
    name = "é" * 120 + ".conf"  # 245 bytes: legal, and longer than 200 characters' worth
    (work / "a.tmpl").write_text("a\n")
    (work / "b.tmpl").write_text("b\n")
    (work / "first").write_text("old\n")
    run = run_envconf(["render", "-t", "a.tmpl:first", "-t", f"b.tmpl:{name}"], cwd=work)
    assert run.returncode == 0, run.stderr
    assert (work / name).read_text() == "b\n"
    assert (work / "first").read_text() == "a\n"


# --- 15: names in messages cannot forge a log line --------------------------------------------


def test_control_characters_in_a_template_name_are_escaped(work: Path) -> None:
    name = "x\nenvconf rendered 1 file(s)\x1b[2J.j2"  # (a ":" would end SRC in SRC:DEST)
    (work / name).write_text("{{ NOPE }}\n")
    run = run_envconf(["render", "-t", f"{name}:out"], cwd=work)
    assert run.returncode == 1
    assert "\x1b" not in run.stderr
    assert all(not line.startswith("envconf rendered") for line in run.stderr.splitlines())
    assert "x\\nenvconf rendered" in run.stderr


# --- 16: replicas sharing a --cache-dir never collide -------------------------------------------


def test_cache_temporary_names_do_not_depend_on_the_pid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "getpid", lambda: 1)  # as in every container
    names: list[str] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        names.append(os.path.basename(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    for _ in range(2):
        JinjaCache(str(directory), print).put("x", ([], set(), set()), compile("1", "t", "eval"))
    assert len(set(names)) == 2 and not any(".1.tmp" in n for n in names)


def test_a_template_whose_output_explodes_is_stopped_at_the_bound(work: Path) -> None:
    loops = "{% for a in X %}{% for b in X %}{% for c in X %}{{ Y }}"
    (work / "t.j2").write_text(loops + "{% endfor %}" * 3 + "\n")
    env = {"X": "x" * 400, "Y": "y" * 2000}  # 400**3 * 2000 characters: far too many
    run = run_envconf(["render", "-t", "t.j2:out"], cwd=work, env=env, timeout=120)
    run.assert_no_traceback()
    assert run.returncode == 1
    assert "the rendered output grew past 67108864 characters" in run.stderr


def test_a_masked_secret_in_a_rendered_file_is_pointed_out(work: Path) -> None:
    (work / "t.j2").write_text("token={{ settings.signing_key }}\n")
    run = run_envconf(["render", "--settings", SETTINGS, "-t", "t.j2:out"], cwd=work)
    assert run.returncode == 0, run.stderr
    assert (work / "out").read_text() == "token=**********\n"
    assert "get_secret_value()" in run.stderr
