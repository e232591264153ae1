"""Promise 2: a secret appears only where it is meant to (the app and the rendered file).

A canary secret is planted through every source (``VAR_FILE``, the secrets dir, ``.env``,
a config file, a CLI flag, the environment) and every failing path is run: the secret field
itself invalid, other fields failing beside it, a DSN holding a password, template and
interpolation errors that quote the value, reports, docs, help, and an uncaught
traceback. Everything a user or a log collector could see is grepped: stdout, stderr,
``str``, ``repr``, ``errors()`` and ``json()``. ``tests/test_secret_canary.py`` covers the
library's messages and reports per source; this module adds the real CLI, ``errors()`` /
``json()``, templates and the argv warning. A naive implementation fails: pydantic's
messages quote their input (``input_value='...'``), Jinja's quote a missing key
(``'dict object' has no attribute '<secret>'``), a ``${X:?$SECRET}`` message expands.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pytest

from envconf.errors import ConfigError, SecretOnCommandLineWarning

from .hostile_settings import DEFAULT_SECRET, Hostile
from .support import CANARY, SETTINGS, Call, Run, envconf, envconf_many, in_parallel, python

SOURCES = ["var_file", "secrets_dir", "dotenv", "config_file", "cli", "env"]
SECRET_WARNING = "a secret on the command line is visible to other processes"


def plant(source: str, key: str, value: str, folder: Path) -> tuple[dict[str, str], list[str]]:
    """Put ``value`` into the secret ``key`` (``token`` or ``db.password``) via ``source``."""
    name = "APP_" + key.upper().replace(".", "__")
    env: dict[str, str] = {}
    argv: list[str] = []
    if source == "var_file":
        (folder / "secret.txt").write_text(value + "\n")
        env[name + "_FILE"] = "secret.txt"
    elif source == "secrets_dir":
        (folder / "secrets").mkdir()
        (folder / "secrets" / name.lower()).write_text(value + "\n")
    elif source == "dotenv":
        (folder / ".env").write_text(f"{name}={value}\n")
    elif source == "config_file":
        head, _, leaf = key.rpartition(".")
        text = f"{head}:\n  {leaf}: {value}\n" if head else f"{key}: {value}\n"
        (folder / "app.yaml").write_text(text)
    elif source == "cli":
        argv = [f"--{key}", value]
    elif source == "env":
        env[name] = value
    return env, argv


def visible(exc: ConfigError) -> str:
    """Everything about an error a user, a log line or an error tracker could show."""
    parts = [str(exc), repr(exc), exc.format(), exc.json(), json.dumps(exc.errors())]
    parts += [repr(p) for p in exc.problems]
    return "\n".join(parts)


# Failing configurations: the secret field itself wrong, or fine beside failing fields.
FAILING = {
    "secret-too-short": ("token", {}),
    "others-failing": ("db.password", {"APP_WORKERS": "many", "APP_DEBUG": "enabled"}),
    "dsn-in-a-port": ("db.password", {"APP_DB__PORT": f"postgres://app:{CANARY}@db/app"}),
}


@pytest.mark.parametrize("scenario", sorted(FAILING))
@pytest.mark.parametrize("source", SOURCES)
def test_errors_json_str_and_repr_never_show_the_secret(
    source: str, scenario: str, workdir: Path
) -> None:
    key, more = FAILING[scenario]
    env, argv = plant(source, key, CANARY, workdir)
    with pytest.raises(ConfigError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore", SecretOnCommandLineWarning)
        Hostile.load(argv=argv, env={**env, **more})
    assert CANARY not in visible(info.value)
    errors = info.value.errors()
    assert errors and all(
        set(e) <= {"key", "message", "source", "location", "value"} for e in errors
    )
    assert json.loads(info.value.json()) == errors


def test_errors_show_a_value_only_where_the_message_does(workdir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        Hostile.load(env={"APP_WORKERS": "many", "APP_TOKEN": CANARY})
    by_key = {e["key"]: e for e in info.value.errors()}
    assert by_key["workers"]["value"] == "many"
    assert by_key["workers"]["location"] == "APP_WORKERS"
    assert "value" not in by_key["token"]


def test_a_dsn_password_is_redacted_where_the_value_is_shown(workdir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        Hostile.load(env={"APP_DB__PORT": f"postgres://app:{CANARY}@db/app"})
    [error] = info.value.errors()
    assert error["value"].startswith("postgres://app:***@")


# --- the real CLI --------------------------------------------------------------------------


def cli_calls(root: Path) -> dict[str, Call]:
    """``check`` and ``explain`` for every source and scenario, in folders under ``root``."""
    calls: dict[str, Call] = {}
    for source in SOURCES:
        for scenario, (key, more) in [*FAILING.items(), ("valid", ("db.password", {}))]:
            commands = ["check"] if scenario != "valid" else ["check", "explain", "explain-json"]
            for command in commands:
                folder = root / f"{source}-{scenario}-{command}"
                folder.mkdir()
                env, argv = plant(source, key, CANARY, folder)
                own = ["explain", "--format", "json"] if command == "explain-json" else [command]
                calls[folder.name] = Call([*own, "--settings", SETTINGS, "--", *argv], folder,
                                          {**env, **more})  # fmt: skip
    return calls


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    calls = cli_calls(tmp_path_factory.mktemp("cli"))
    return dict(zip(calls, envconf_many(list(calls.values())), strict=True))


def test_check_and_explain_never_print_the_secret(cli_runs: dict[str, Run]) -> None:
    assert len(cli_runs) == len(SOURCES) * (len(FAILING) + 3)
    for name, run in cli_runs.items():
        run.assert_no_traceback()
        assert CANARY not in run.stdout + run.stderr, name
        valid = "-valid-" in name
        assert run.returncode == (0 if valid else 1), (name, run.stderr)
        if name.startswith("cli-"):
            assert SECRET_WARNING in run.stderr, name
        else:
            assert "warning" not in run.stderr, name


def test_explain_shows_where_the_secret_came_from_but_not_its_value(
    cli_runs: dict[str, Run],
) -> None:
    report = json.loads(cli_runs["var_file-valid-explain-json"].stdout)
    [password] = [k for k in report["keys"] if k["key"] == "db.password"]
    assert password["value"] == "**********"
    assert password["source"] == "env"
    assert password["location"] == "secret.txt (via APP_DB__PASSWORD_FILE)"


@pytest.mark.parametrize("command", ["explain", "check"])
def test_a_secret_flag_warns_that_argv_is_visible_to_other_processes(
    command: str, tmp_path: Path
) -> None:
    run = envconf([command, "--settings", SETTINGS, "--", "--db.password", CANARY], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    warning = f"envconf: warning: --db.password: {SECRET_WARNING}"
    assert warning in run.stderr.splitlines()[0]
    assert CANARY not in run.stdout + run.stderr


def test_docs_dotenv_help_and_reports_never_show_a_secret_default(tmp_path: Path) -> None:
    calls = [
        Call(["docs", "--settings", SETTINGS], tmp_path),
        Call(["dotenv", "--settings", SETTINGS], tmp_path),
        Call(["check", "--settings", SETTINGS, "--", "--help"], tmp_path),
        Call(["explain", "--settings", SETTINGS], tmp_path),
        Call(["explain", "--settings", SETTINGS, "--format", "json"], tmp_path),
    ]
    for run in envconf_many(calls):
        assert run.returncode == 0, run.stderr
        assert "signing" in run.stdout.replace("-", "_")  # the key is documented...
        assert DEFAULT_SECRET not in run.stdout + run.stderr  # ...its value is not


def test_an_uncaught_config_error_traceback_shows_no_secret(tmp_path: Path) -> None:
    """An app that lets ConfigError escape prints a traceback: it must hold no secret."""
    (tmp_path / "secret.txt").write_text(CANARY)
    app = (
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from hostile_settings import Hostile\n"
        "Hostile.load(argv=sys.argv[1:])\n"
    )
    env = {"APP_TOKEN_FILE": "secret.txt", "APP_WORKERS": "many", "APP_DB__PASSWORD": CANARY}
    run = python([sys.executable, "-c", app, "--db.password", CANARY], cwd=tmp_path, env=env)
    assert run.returncode == 1
    assert "Traceback" in run.stderr and "ConfigError" in run.stderr
    assert "token" in run.stderr and "workers" in run.stderr
    assert CANARY not in run.stdout + run.stderr


# --- templates: render and .j2 config files --------------------------------------------------

# Each quotes its value in the error a naive renderer would print.
LEAKY_JINJA = [
    "{{ {}[DB_PASSWORD] }}",
    "{{ env[DB_PASSWORD] }}",
    "{{ DB_PASSWORD | attr(DB_PASSWORD) }}",
    "{{ DB_PASSWORD[DB_PASSWORD] }}",
    "{{ DB_PASSWORD | map(DB_PASSWORD) | list }}",
    "{{ DB_PASSWORD | select(DB_PASSWORD) | list }}",
    "{{ namespace()[DB_PASSWORD] }}",
]
LEAKY_ENVSUBST = ["${UNSET:?$DB_PASSWORD}", "${UNSET:?the password is ${DB_PASSWORD}}"]


def render_case(folder: Path, name: str, text: str, env: dict[str, str]) -> Run:
    (folder / name).write_text("ok\n" + text + "\n")
    (folder / "out").write_text("old\n")
    return envconf(["render", "-t", f"{name}:out"], cwd=folder, env=env)


@pytest.mark.parametrize("through", ["var_file", "env"])
def test_render_errors_never_quote_a_secret(through: str, tmp_path: Path) -> None:
    env = {"DB_PASSWORD": CANARY}
    if through == "var_file":
        (tmp_path / "pw").write_text(CANARY + "\n")
        env = {"DB_PASSWORD_FILE": str(tmp_path / "pw")}
    cases = [("t.j2", t) for t in LEAKY_JINJA] + [("t.tmpl", t) for t in LEAKY_ENVSUBST]
    folders = []
    for index, _ in enumerate(cases):
        folders.append(tmp_path / str(index))
        folders[-1].mkdir()

    def run(item: tuple[Path, tuple[str, str]]) -> Run:
        folder, (name, text) = item
        return render_case(folder, name, text, env)

    results = in_parallel(run, list(zip(folders, cases, strict=True)))
    for folder, (name, _), result in zip(folders, cases, results, strict=True):
        result.assert_no_traceback()
        assert result.returncode == 1, result.stderr
        assert f"{name}:2:" in result.stderr  # the template and the line using the secret
        if through == "var_file":
            assert CANARY not in result.stdout + result.stderr, result.stderr
        # else: without --settings, render cannot know a plain variable is a secret
        assert (folder / "out").read_text() == "old\n"


def test_render_with_settings_hides_settings_secrets_in_template_errors(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("{{ {}[settings.db.password.get_secret_value()] }}\n")
    run = envconf(
        ["render", "--settings", SETTINGS, "-t", "t.j2:out"],
        cwd=tmp_path,
        env={"APP_DB__PASSWORD": CANARY},
    )
    run.assert_no_traceback()
    assert run.returncode == 1
    assert "t.j2:1" in run.stderr
    assert CANARY not in run.stdout + run.stderr


@pytest.mark.parametrize("template", LEAKY_JINJA[:3])
@pytest.mark.parametrize("through", ["var_file", "env"])
def test_j2_config_file_errors_never_quote_a_secret(
    template: str, through: str, workdir: Path
) -> None:
    (workdir / "app.yaml.j2").write_text(
        "name: x\ndebug: '" + template.replace("DB_", "APP_DB__") + "'\n"
    )
    env = {"APP_CONFIG": "app.yaml.j2", "APP_DB__PASSWORD": CANARY}
    if through == "var_file":
        (workdir / "pw").write_text(CANARY)
        env = {"APP_CONFIG": "app.yaml.j2", "APP_DB__PASSWORD_FILE": "pw"}
    with pytest.raises(ConfigError) as info:
        Hostile.load(env=env)
    assert [p.location for p in info.value.problems] == ["app.yaml.j2:2"]
    assert CANARY not in visible(info.value)


@pytest.mark.parametrize(
    ("files", "env"),
    [
        ({"app.yaml": "name: ${UNSET:?$APP_TOKEN}\n"}, {"APP_TOKEN": CANARY}),
        ({"app.yaml": "name: ${UNSET:?$TOKEN}\n", "t": CANARY}, {"TOKEN_FILE": "t"}),
        ({".env": f"APP_TOKEN={CANARY}\nAPP_NAME=${{UNSET:?$APP_TOKEN}}\n"}, {}),
    ],
    ids=["yaml-secret-env", "yaml-var-file", "dotenv-secret-entry"],
)
def test_interpolation_messages_never_expand_a_secret(
    files: dict[str, str], env: dict[str, str], workdir: Path
) -> None:
    for name, text in files.items():
        (workdir / name).write_text(text)
    with pytest.raises(ConfigError) as info:
        Hostile.load(env=env)
    assert any(p.key in ("name", "APP_NAME") for p in info.value.problems), str(info.value)
    assert CANARY not in visible(info.value)
