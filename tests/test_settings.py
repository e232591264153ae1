"""``Settings.load`` end to end: contract sections 1 and 2, through the public API only."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field, SecretStr

import envconf
from envconf.load.report import explain_data
from envconf.testing import Jail


class Database(BaseModel):
    host: str = "localhost"
    port: int = 5432
    password: SecretStr | None = None


class AppSettings(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="APP_",
        env_nested_delimiter="__",
        config_files=["config/app.yaml"],
        secrets_dir="secrets",
        env_file=".env",
    )

    debug: bool = False
    workers: int = 1
    name: str = "app"
    tags: list[str] = Field(default_factory=list)
    labels: dict[str, Any] = Field(default_factory=dict)
    db: Database = Database()


class Typed(envconf.Settings):
    """One field per YAML typing rule."""

    model_config = envconf.SettingsConfigDict(
        env_prefix="T_", env_nested_delimiter="__", config_files=["t.yaml"], secrets_dir=None
    )

    s1: str = ""
    s2: str = ""
    s3: str = ""
    s4: str = ""
    s5: str = ""
    n: int = 0
    password: SecretStr = SecretStr("")
    maybe: str | None = "set"
    anything: Any = None
    flag: bool = False


def write(path: str, text: str) -> Path:
    """Write ``text`` to ``path`` (relative to the test's working directory)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def load(env: dict[str, str], argv: list[str] | None = None, **kw: Any) -> AppSettings:
    return AppSettings.load(argv=argv, env=env, **kw)


def origin(settings: envconf.Settings, key: str) -> envconf.Origin:
    return envconf.explain(settings)[key]


def problems(exc: pytest.ExceptionInfo[envconf.ConfigError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


# --- environment variables ---------------------------------------------------------------


def test_nested_field_is_set_with_the_nested_delimiter(env: dict[str, str], workdir: Path) -> None:
    env["APP_DB__PORT"] = "6000"
    settings = load(env)
    assert settings.db.port == 6000
    assert origin(settings, "db.port").location == "APP_DB__PORT"


def test_complex_env_values_are_json(env: dict[str, str], workdir: Path) -> None:
    env.update(APP_TAGS='["a", "b"]', APP_LABELS='{"tier": {"x": 1}}')
    settings = load(env)
    assert settings.tags == ["a", "b"]
    assert settings.labels == {"tier": {"x": 1}}


def test_a_whole_nested_model_can_be_json(env: dict[str, str], workdir: Path) -> None:
    env.update(APP_DB='{"port": 1}', APP_DB__HOST="db")
    settings = load(env)
    assert (settings.db.host, settings.db.port) == ("db", 1)
    assert origin(settings, "db.port").location == "APP_DB"
    assert origin(settings, "db.host").location == "APP_DB__HOST"


def test_invalid_json_for_a_model_names_the_variable(env: dict[str, str], workdir: Path) -> None:
    env["APP_DB"] = "{port"
    with pytest.raises(envconf.ConfigError) as exc:
        load(env)
    assert problems(exc) == [
        "db: APP_DB (env): not valid JSON (Expecting property name enclosed in double quotes)"
    ]


def test_env_names_ignore_case(env: dict[str, str], workdir: Path) -> None:
    env["app_db__Port"] = "7"
    assert load(env).db.port == 7


def test_env_names_differing_only_by_case_are_an_error_naming_both(
    env: dict[str, str], workdir: Path
) -> None:
    env.update(app_workers="2", APP_WORKERS="3")
    with pytest.raises(envconf.ConfigError) as exc:
        load(env)
    [message] = problems(exc)
    assert "app_workers" in message and "APP_WORKERS" in message


def test_unprefixed_env_vars_are_not_read(env: dict[str, str], workdir: Path) -> None:
    env.update(WORKERS="5", DB__PORT="6")
    settings = load(env)
    assert (settings.workers, settings.db.port) == (1, 5432)


# --- VAR_FILE ------------------------------------------------------------------------------


def test_var_file_reads_the_file_stripping_trailing_newlines_only(
    env: dict[str, str], workdir: Path
) -> None:
    write("pw", " s3cret \t\n\r\n\n")
    env["APP_DB__PASSWORD_FILE"] = "pw"
    settings = load(env)
    assert settings.db.password is not None
    assert settings.db.password.get_secret_value() == " s3cret \t"
    assert origin(settings, "db.password").source == "env"
    assert "APP_DB__PASSWORD_FILE" in origin(settings, "db.password").location


def test_var_file_works_for_non_secret_keys(env: dict[str, str], workdir: Path) -> None:
    write("workers", "4\n")
    env["APP_WORKERS_FILE"] = "workers"
    assert load(env).workers == 4


def test_var_and_var_file_both_set_is_an_error(env: dict[str, str], workdir: Path) -> None:
    write("pw", "a")
    env.update(APP_DB__PASSWORD="b", APP_DB__PASSWORD_FILE="pw")
    with pytest.raises(envconf.ConfigError) as exc:
        load(env)
    [message] = problems(exc)
    assert "both APP_DB__PASSWORD and APP_DB__PASSWORD_FILE are set" in message


def test_an_empty_var_beside_var_file_is_allowed(env: dict[str, str], workdir: Path) -> None:
    # The postgres image only refuses both when both are non-empty.
    write("pw", "a")
    env.update(APP_DB__PASSWORD="", APP_DB__PASSWORD_FILE="pw")
    settings = load(env)
    assert settings.db.password is not None
    assert settings.db.password.get_secret_value() == "a"


@pytest.mark.filterwarnings("ignore::envconf.errors.UnknownVariableWarning")
def test_unrelated_file_variables_are_never_read(env: dict[str, str], workdir: Path) -> None:
    env.update(LOG_FILE="/nonexistent/log", PID_FILE="/dev/zero", APP_LOG_FILE="/dev/zero")
    assert load(env).workers == 1


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing-file", "file not found"),
        ("a-dir", "is a directory"),
        ("fifo", "not a regular file"),
        ("/dev/zero", "not a regular file"),
        ("big", "larger than 1048576 bytes"),
    ],
)
def test_unusable_var_file_is_an_error_naming_the_variable(
    target: str, message: str, env: dict[str, str], workdir: Path
) -> None:
    (workdir / "a-dir").mkdir()
    os.mkfifo(workdir / "fifo")
    (workdir / "big").write_bytes(b"x" * (1024 * 1024 + 1))
    env["APP_NAME_FILE"] = target
    with pytest.raises(envconf.ConfigError) as exc:
        load(env)
    [message_text] = problems(exc)
    assert message_text.startswith("name: APP_NAME_FILE (env): ")
    assert message in message_text


def test_a_var_file_of_exactly_one_mib_is_accepted(env: dict[str, str], workdir: Path) -> None:
    (workdir / "big").write_bytes(b"x" * (1024 * 1024))
    env["APP_NAME_FILE"] = "big"
    assert len(load(env).name) == 1024 * 1024


# --- secrets dir ---------------------------------------------------------------------------


def test_secret_files_are_named_with_or_without_prefix_ignoring_case(
    env: dict[str, str], workdir: Path
) -> None:
    write("secrets/DB__PASSWORD", "pw\n")
    write("secrets/app_workers", "3\n")
    settings = load(env)
    assert settings.db.password is not None
    assert settings.db.password.get_secret_value() == "pw"
    assert settings.workers == 3
    assert origin(settings, "db.password") == envconf.Origin(
        "secret", "secrets/DB__PASSWORD", (envconf.Origin("default", "default"),)
    )


def test_kubernetes_dot_dot_entries_are_not_keys(env: dict[str, str], workdir: Path) -> None:
    write("secrets/..2024_01_01/name", "from-data")
    (workdir / "secrets" / "..data").symlink_to("..2024_01_01")
    (workdir / "secrets" / "name").symlink_to("..data/name")
    settings = load(env)
    assert settings.name == "from-data"
    assert origin(settings, "name").location == "secrets/name"


def test_a_secret_link_leaving_the_dir_is_an_error(env: dict[str, str], workdir: Path) -> None:
    write("outside", "x")
    (workdir / "secrets").mkdir()
    (workdir / "secrets" / "name").symlink_to(workdir / "outside")
    with pytest.raises(envconf.ConfigError) as exc:
        load(env)
    [message] = problems(exc)
    assert message == "name: secrets/name (secret): secret file links outside the secrets dir"


def test_two_secret_files_for_one_key_are_an_error_naming_both(
    env: dict[str, str], workdir: Path
) -> None:
    write("secrets/NAME", "a")
    write("secrets/app_name", "b")
    with pytest.raises(envconf.ConfigError) as exc:
        load(env)
    [message] = problems(exc)
    assert "secrets/NAME" in message and "secrets/app_name" in message


def test_an_absent_secrets_dir_is_skipped(env: dict[str, str], workdir: Path) -> None:
    assert load(env).name == "app"


def test_a_directory_named_like_a_key_is_skipped_with_a_warning(
    env: dict[str, str], workdir: Path
) -> None:
    # As pydantic-settings does: warn, and let the other layers decide.
    (workdir / "secrets" / "name").mkdir(parents=True)
    with pytest.warns(UserWarning, match="found a directory"):
        settings = load(env)
    assert origin(settings, "name").source == "default"


# --- .env ----------------------------------------------------------------------------------


def test_dotenv_file_is_read_when_configured(envconf_jail: Jail) -> None:
    envconf_jail.file(".env", "# comment\nexport APP_WORKERS=6\nAPP_DB__HOST='db.internal'\n")
    settings = envconf_jail.load(AppSettings)
    assert (settings.workers, settings.db.host) == (6, "db.internal")
    assert origin(settings, "workers") == envconf.Origin(
        "dotenv", ".env:2", (envconf.Origin("default", "default"),)
    )


# --- config file choice --------------------------------------------------------------------


def test_config_flags_beat_config_env_which_beats_configured_files(
    env: dict[str, str], workdir: Path
) -> None:
    write("config/app.yaml", "name: configured\n")
    write("a.yaml", "name: from-env\n")
    write("b.yaml", "name: from-flag-1\n")
    write("c.yaml", "workers: 9\n")
    assert load(env).name == "configured"
    env["APP_CONFIG"] = "a.yaml"
    assert load(env).name == "from-env"
    settings = load(env, ["--config", "b.yaml", "--config=c.yaml"])
    assert (settings.name, settings.workers) == ("from-flag-1", 9)
    assert [f["path"] for f in explain_data(settings)["files"]] == ["b.yaml", "c.yaml"]


def test_config_env_is_a_comma_separated_list(env: dict[str, str], workdir: Path) -> None:
    write("a.yaml", "name: a\nworkers: 2\n")
    write("b.yaml", "name: b\n")
    env["APP_CONFIG"] = "a.yaml, b.yaml"
    settings = load(env)
    assert (settings.name, settings.workers) == ("b", 2)
    assert origin(settings, "name").overridden[0] == envconf.Origin("file", "a.yaml:1")


def test_load_config_files_argument_replaces_the_configured_list(
    env: dict[str, str], workdir: Path
) -> None:
    write("config/app.yaml", "name: configured\n")
    write("other.yaml", "name: other\n")
    assert load(env, config_files=["other.yaml"]).name == "other"


@pytest.mark.parametrize("how", ["flag", "env"])
def test_an_explicitly_named_missing_file_is_an_error(
    how: str, env: dict[str, str], workdir: Path
) -> None:
    argv = ["--config", "nope.yaml"] if how == "flag" else []
    if how == "env":
        env["APP_CONFIG"] = "nope.yaml"
    with pytest.raises(envconf.ConfigError) as exc:
        load(env, argv)
    assert problems(exc) == ["nope.yaml (file): config file not found"]


def test_a_missing_default_file_is_skipped_and_reported(env: dict[str, str], workdir: Path) -> None:
    settings = load(env)
    assert explain_data(settings)["files"] == [
        {"path": "config/app.yaml", "loaded": False, "note": "not found, skipped"}
    ]


def test_a_profile_adds_its_file_after_the_base_file(envconf_jail: Jail) -> None:
    envconf_jail.file("config/app.yaml", "name: base\nworkers: 2\n")
    envconf_jail.file("config/app.production.yaml", "workers: 8\n")
    envconf_jail.env(APP_PROFILE="production")
    settings = envconf_jail.load(AppSettings)
    assert (settings.name, settings.workers) == ("base", 8)
    assert envconf_jail.explain()["workers"].location == "config/app.production.yaml:1"
    assert envconf_jail.report()["files"] == [
        {"path": "config/app.yaml", "loaded": True},
        {"path": "config/app.production.yaml", "loaded": True},
    ]


def test_a_missing_profile_file_is_not_an_error(env: dict[str, str], workdir: Path) -> None:
    write("config/app.yaml", "name: base\n")
    env["APP_PROFILE"] = "staging"
    assert load(env).name == "base"


# --- formats and merging -------------------------------------------------------------------

FORMATS = {
    "c.yaml": "workers: 2\ndb:\n  port: 3\n",
    "c.yml": "workers: 2\ndb:\n  port: 3\n",
    "c.toml": "workers = 2\n[db]\nport = 3\n",
    "c.json": '{"workers": 2, "db": {"port": 3}}',
    "c.env": "APP_WORKERS=2\nDB__PORT=3\n",
    "c.yaml.j2": "workers: {{ 1 + 1 }}\ndb:\n  port: {{ PORT }}\n",
    "c.toml.j2": "workers = {{ 1 + 1 }}\n[db]\nport = {{ PORT }}\n",
}


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_config_format_is_read_by_suffix(
    name: str, env: dict[str, str], workdir: Path
) -> None:
    write(name, FORMATS[name])
    env["PORT"] = "3"
    settings = load(env, config_files=[name])
    assert (settings.workers, settings.db.port) == (2, 3)
    assert origin(settings, "workers").source == "file"
    assert origin(settings, "workers").location.startswith(name + ":")


def test_an_unknown_file_suffix_is_an_error(env: dict[str, str], workdir: Path) -> None:
    write("app.ini", "x=1\n")
    with pytest.raises(envconf.ConfigError, match="unknown config file format"):
        load(env, config_files=["app.ini"])


def test_mappings_deep_merge_and_lists_replace(env: dict[str, str], workdir: Path) -> None:
    write("a.yaml", "tags: [a, b]\nlabels: {x: 1, y: 2}\ndb: {host: h, port: 1}\n")
    write("b.yaml", "tags: [c]\nlabels: {y: 3}\ndb: {port: 2}\n")
    settings = load(env, config_files=["a.yaml", "b.yaml"])
    assert settings.tags == ["c"]
    assert settings.labels == {"x": 1, "y": 3}
    assert (settings.db.host, settings.db.port) == ("h", 2)
    assert origin(settings, "db.port").overridden[0] == envconf.Origin("file", "a.yaml:3")


def test_a_dict_merged_from_one_file_overrides_nothing_but_the_default(
    env: dict[str, str], workdir: Path
) -> None:
    write("a.yaml", "labels:\n  x: 1\n  y: 2\n")
    settings = load(env, config_files=["a.yaml"])
    assert origin(settings, "labels").overridden == (envconf.Origin("default", "default"),)


# --- interpolation and templates -----------------------------------------------------------


def test_file_values_are_interpolated_compose_style(env: dict[str, str], workdir: Path) -> None:
    write("a.yaml", "name: ${NAME:-fallback}-$$x\ndb:\n  host: ${HOST}\n  port: ${PORT-1}\n")
    env["HOST"] = "db.example"
    settings = load(env, config_files=["a.yaml"])
    assert (settings.name, settings.db.host, settings.db.port) == ("fallback-$x", "db.example", 1)
    env["PORT"] = ""  # set but empty: "-" keeps it, and "" is not an int
    with pytest.raises(envconf.ConfigError, match=re.escape("db.port: a.yaml:4=''")):
        load(env, config_files=["a.yaml"])


def test_an_unset_variable_is_an_error_naming_file_and_line(
    env: dict[str, str], workdir: Path
) -> None:
    write("a.yaml", "workers: 2\nname: |\n  first\n  ${UNSET_VAR}\n")
    with pytest.raises(envconf.ConfigError) as exc:
        load(env, config_files=["a.yaml"])
    [message] = problems(exc)
    assert message.startswith("name: a.yaml:4 (file): ")
    assert "UNSET_VAR" in message


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("a.yaml", "workers: 2\nname: >\n  first\n  ${UNSET_VAR}\n", 4),
        ("a.yaml", "tags:\n  - a\n  - ${UNSET_VAR}\n", 3),
        ("a.toml", 'workers = 2\nname = """\nfirst\n${UNSET_VAR}"""\n', 4),
        ("a.json", '{"workers": 2,\n "name": "a\\n${UNSET_VAR}"}', 2),
        ("a.env", "APP_WORKERS=2\nAPP_NAME=${UNSET_VAR}\n", 2),
    ],
)
def test_unset_variable_line_is_the_line_of_the_reference(
    name: str, text: str, line: int, env: dict[str, str], workdir: Path
) -> None:
    write(name, text)
    with pytest.raises(envconf.ConfigError) as exc:
        load(env, config_files=[name])
    [problem] = exc.value.problems
    assert problem.location == f"{name}:{line}"


def test_an_env_value_cannot_inject_structure(env: dict[str, str], workdir: Path) -> None:
    write("a.yaml", "name: ${EVIL}\n")
    env["EVIL"] = "x\nworkers: 99"
    settings = load(env, config_files=["a.yaml"])
    assert (settings.name, settings.workers) == ("x\nworkers: 99", 1)


def test_interpolation_is_single_pass(env: dict[str, str], workdir: Path) -> None:
    write("a.yaml", "name: ${A}\n")
    env.update(A="${B}", B="no")
    assert load(env, config_files=["a.yaml"]).name == "${B}"


def test_a_j2_file_is_not_interpolated_a_second_time(env: dict[str, str], workdir: Path) -> None:
    write("a.yaml.j2", "name: '{{ VALUE }}'\n")
    env["VALUE"] = "$HOME ${HOME}"
    env["HOME"] = "/root"
    assert load(env, config_files=["a.yaml.j2"]).name == "$HOME ${HOME}"


def test_j2_undefined_variable_is_an_error_naming_the_template(
    env: dict[str, str], workdir: Path
) -> None:
    write("a.yaml.j2", "workers: 1\nname: {{ NOPE }}\n")
    with pytest.raises(envconf.ConfigError) as exc:
        load(env, config_files=["a.yaml.j2"])
    assert any("a.yaml.j2:2" in p and "NOPE" in p for p in problems(exc))


def test_interpolated_values_are_text_converted_by_the_field(
    env: dict[str, str], workdir: Path
) -> None:
    write("t.yaml", "s1: ${V}\nn: ${V}\nflag: ${B}\nanything: ${V}\n")
    env.update(V="012", B="on")
    settings = Typed.load(env=env)
    assert (settings.s1, settings.n, settings.flag, settings.anything) == ("012", 12, True, "012")


# --- YAML typing ---------------------------------------------------------------------------


def test_yaml_scalars_are_typed_by_the_field(env: dict[str, str], workdir: Path) -> None:
    write(
        "t.yaml",
        "s1: NO\ns2: on\ns3: 012\ns4: 1.10\ns5: 1:20\nn: 012\npassword: 012345\n"
        "anything: [012, on, 1:20, true, 0x1F, ~]\n",
    )
    settings = Typed.load(env=env)
    assert [settings.s1, settings.s2, settings.s3, settings.s4, settings.s5] == [
        "NO",
        "on",
        "012",
        "1.10",
        "1:20",
    ]
    assert settings.n == 12
    assert settings.password.get_secret_value() == "012345"
    assert settings.anything == [12, "on", "1:20", True, 31, None]


@pytest.mark.parametrize("text", ["null", "~", ""])
def test_yaml_null_stays_null_even_in_a_str_field(
    text: str, env: dict[str, str], workdir: Path
) -> None:
    write("t.yaml", f"maybe: {text}\n")
    assert Typed.load(env=env).maybe is None


def test_unknown_key_in_a_file_is_an_error_with_line_and_suggestion(
    env: dict[str, str], workdir: Path
) -> None:
    write("a.yaml", "workers: 2\ndb:\n  prot: 1\nwrkers: 3\nzzz: 1\n")
    with pytest.raises(envconf.ConfigError) as exc:
        load(env, config_files=["a.yaml"])
    assert sorted(problems(exc)) == [
        "db.prot: a.yaml:3 (file): unknown key (did you mean db.port?)",
        "wrkers: a.yaml:4 (file): unknown key (did you mean workers?)",
        "zzz: a.yaml:5 (file): unknown key",
    ]


def test_unknown_and_repeated_keys_in_a_dotenv_config_file_are_errors(
    env: dict[str, str], workdir: Path
) -> None:
    write("a.env", "APP_WORKERS=1\nAPP_WRKERS=2\nWORKERS=3\n")
    with pytest.raises(envconf.ConfigError) as exc:
        load(env, config_files=["a.env"])
    assert len(exc.value.problems) == 2
    assert any("a.env:2" in p and "did you mean APP_WORKERS" in p for p in problems(exc))
    assert any("a.env:3" in p for p in problems(exc))


def test_duplicate_yaml_keys_are_an_error_naming_the_repeat(
    env: dict[str, str], workdir: Path
) -> None:
    write("a.yaml", "workers: 1\nname: x\nworkers: 2\n")
    with pytest.raises(envconf.ConfigError) as exc:
        load(env, config_files=["a.yaml"])
    [message] = problems(exc)
    assert message.startswith("workers: a.yaml:3 (file): ")


# --- init, errors, argv --------------------------------------------------------------------


def test_constructor_without_arguments_loads_like_load(envconf_jail: Jail) -> None:
    # The constructor reads os.environ and the working directory: the jail's, not the real ones.
    envconf_jail.env(APP_WORKERS="4")
    envconf_jail.file("config/app.yaml", "name: jailed\n")
    assert AppSettings() == AppSettings.load()
    assert (AppSettings().workers, AppSettings().name) == (4, "jailed")


def test_constructor_keywords_win_with_origin_init(envconf_jail: Jail) -> None:
    envconf_jail.file("config/app.yaml", "workers: 2\n")
    settings = AppSettings(workers=3)
    assert settings.workers == 3
    assert origin(settings, "workers") == envconf.Origin(
        "init",
        "init",
        (envconf.Origin("file", "config/app.yaml:1"), envconf.Origin("default", "default")),
    )


def test_constructor_keywords_for_a_nested_model_merge_with_other_layers(
    envconf_jail: Jail,
) -> None:
    envconf_jail.file("config/app.yaml", "db:\n  host: h\n")
    settings = AppSettings(db={"port": 1})
    assert (settings.db.host, settings.db.port) == ("h", 1)


def test_config_error_lists_every_problem_and_is_a_value_error(
    env: dict[str, str], workdir: Path
) -> None:
    write("config/app.yaml", "workers: many\n")
    env.update(APP_DB__PORT="x", APP_DEBUG="maybe")
    with pytest.raises(ValueError) as caught:
        load(env)
    exc = caught.value
    assert isinstance(exc, envconf.ConfigError)
    assert {p.key for p in exc.problems} == {"workers", "db.port", "debug"}
    assert all(isinstance(p, envconf.Problem) for p in exc.problems)
    lines = str(exc).splitlines()
    assert lines[0] == "3 configuration problems:"
    assert len(lines) == 4
    assert any(line.startswith("  workers: config/app.yaml:1='many' (file): ") for line in lines)


def test_a_problem_found_while_reading_is_not_reported_again_by_validation(
    env: dict[str, str], workdir: Path
) -> None:
    write("t.yaml", "anything: " + "9" * 5000 + "\n")
    with pytest.raises(envconf.ConfigError) as exc:
        Typed.load(env=env)
    assert problems(exc) == ["anything: t.yaml:1 (file): integer too large (too many digits)"]


def test_config_error_does_not_chain_pydantic_errors(env: dict[str, str], workdir: Path) -> None:
    env["APP_WORKERS"] = "x"
    with pytest.raises(envconf.ConfigError) as exc:
        load(env)
    assert exc.value.__cause__ is None and exc.value.__context__ is None


def test_help_prints_usage_and_exits_zero(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        load(env, ["--workers", "2", "--help"])
    assert exc.value.code == 0
    assert "--db.port PORT" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--wrkers", "2"], ["--workers"], ["stray"]])
def test_bad_argv_raises_config_error_not_system_exit(argv: list[str], env: dict[str, str]) -> None:
    with pytest.raises(envconf.ConfigError):
        load(env, argv)


def test_argv_none_means_no_cli_layer(env: dict[str, str], workdir: Path) -> None:
    assert origin(load(env, None), "workers").source == "default"


def test_precedence_may_not_list_a_layer_twice_or_list_init() -> None:
    with pytest.raises(envconf.ConfigError) as exc:

        class Twice(envconf.Settings):
            model_config = envconf.SettingsConfigDict(precedence=["env", "env", "init"])

    assert len(exc.value.problems) == 2


def test_json_in_explain_is_serialisable(env: dict[str, str], workdir: Path) -> None:
    env["APP_LABELS"] = '{"a": [1, 2]}'
    json.dumps(explain_data(load(env)))


def test_field_constraints_are_checked(env: dict[str, str], workdir: Path) -> None:
    class Limited(envconf.Settings):
        model_config = envconf.SettingsConfigDict(env_prefix="L_", secrets_dir=None)
        workers: int = Field(default=1, ge=1)

    with pytest.raises(envconf.ConfigError, match="workers: L_WORKERS='0' \\(env\\)"):
        Limited.load(env={"L_WORKERS": "0"})


class Aliased(envconf.Settings):
    model_config = envconf.SettingsConfigDict(env_prefix="AL_", secrets_dir=None)

    port: int = Field(default=1, alias="listen_port")
    host: str = Field(default="h", validation_alias="bind_host")


@pytest.mark.filterwarnings("ignore::envconf.errors.UnknownVariableWarning")
def test_fields_with_an_alias_load_by_their_alias_as_in_pydantic_settings(
    env: dict[str, str], workdir: Path
) -> None:
    # As pydantic-settings reads them: the alias is the variable's name, without the prefix
    # (env_prefix_target="variable"); the prefixed field name is not read.
    env.update(listen_port="5", BIND_HOST="x", AL_PORT="9")
    settings = Aliased.load(env=env)
    assert (settings.port, settings.host) == (5, "x")
    assert origin(settings, "port").location == "listen_port"
    with pytest.raises(envconf.ConfigError) as exc:
        Aliased.load(env={"LISTEN_PORT": "nope"})
    assert [(p.key, p.location) for p in exc.value.problems] == [("port", "LISTEN_PORT")]


def test_constructor_keywords_may_use_an_alias(workdir: Path) -> None:
    settings = Aliased(listen_port=3, bind_host="z")
    assert (settings.port, settings.host) == (3, "z")
    assert origin(settings, "port").source == "init"


class Renamed(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="R_",
        config_env="R_SETTINGS_FILES",
        profile_env="DEPLOY_ENV",
        file_suffix="_PATH",
        interpolate=False,
        secrets_dir=None,
    )

    name: str = ""
    token: str = ""


@pytest.mark.filterwarnings("ignore::envconf.errors.UnknownVariableWarning")
def test_config_env_profile_env_file_suffix_and_interpolate_are_configurable(
    env: dict[str, str], workdir: Path
) -> None:
    write("c.yaml", "name: ${NOT_EXPANDED}\n")
    write("c.staging.yaml", "token: from-profile\n")
    env.update(R_SETTINGS_FILES="c.yaml", DEPLOY_ENV="staging", R_CONFIG="nope.yaml")
    settings = Renamed.load(env=env)
    assert (settings.name, settings.token) == ("${NOT_EXPANDED}", "from-profile")
    write("tok", "t\n")
    env.update(R_TOKEN_PATH="tok", R_TOKEN_FILE="/dev/zero")
    assert Renamed.load(env=env).token == "t"


def test_a_model_config_key_nothing_reads_is_an_error_when_the_class_is_created() -> None:
    with pytest.raises(
        TypeError, match="unknown model_config key 'env_prefx' \\(did you mean 'env_prefix'\\?\\)"
    ):

        class Typo(envconf.Settings):
            model_config = envconf.SettingsConfigDict(env_prefx="APP_")  # type: ignore[typeddict-unknown-key]


def test_env_file_entries_do_not_feed_interpolation_in_config_files(
    env: dict[str, str], workdir: Path
) -> None:
    write(".env", "APP_WORKERS=3\n")
    write("config/app.yaml", "name: n${APP_WORKERS}\n")
    with pytest.raises(envconf.ConfigError, match="required variable APP_WORKERS is not set"):
        load(env)
    env["APP_WORKERS"] = "5"
    assert (load(env).name, load(env).workers) == ("n5", 5)


def test_a_file_that_fails_to_parse_is_not_followed_by_missing_key_noise(
    env: dict[str, str], workdir: Path
) -> None:
    class Needs(envconf.Settings):
        model_config = envconf.SettingsConfigDict(config_files=["n.yaml"], secrets_dir=None)
        admin_email: str
        port: int = 80

    write("n.yaml", "admin_email: a@b\nport: [1,\n")
    with pytest.raises(envconf.ConfigError) as exc:
        Needs.load(env=env)
    assert [p.location for p in exc.value.problems] == ["n.yaml:2"]
    assert "invalid YAML" in exc.value.problems[0].message


def test_an_error_in_an_interpolated_value_names_the_variable(
    env: dict[str, str], workdir: Path
) -> None:
    write("config/app.yaml", "workers: ${WORKERS_FROM_ENV}\n")
    env["WORKERS_FROM_ENV"] = "80a"
    with pytest.raises(envconf.ConfigError) as exc:
        load(env)
    [problem] = exc.value.problems
    assert problem.location == "config/app.yaml:1"
    assert problem.message.endswith("(the value came from ${WORKERS_FROM_ENV})")
