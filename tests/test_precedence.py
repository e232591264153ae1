"""One test per ordered pair of layers: the higher one wins and the lower is 'overridden'."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import envconf
from envconf.load.source import LoadContext

LAYERS = ("cli", "env", "dotenv", "secret", "file")


def make_settings(tmp: Path, precedence: tuple[str, ...]) -> type[envconf.Settings]:
    class S(envconf.Settings):
        model_config = envconf.SettingsConfigDict(
            env_prefix="APP_",
            env_nested_delimiter="__",
            config_files=[str(tmp / "app.yaml")],
            env_file=str(tmp / ".env"),
            secrets_dir=str(tmp / "secrets"),
            precedence=list(precedence),
        )

        port: int = 1

    return S


def set_layer(layer: str, value: int, tmp: Path, env: dict[str, str], argv: list[str]) -> None:
    if layer == "cli":
        argv += ["--port", str(value)]
    elif layer == "env":
        env["APP_PORT"] = str(value)
    elif layer == "dotenv":
        (tmp / ".env").write_text(f"APP_PORT={value}\n")
    elif layer == "secret":
        (tmp / "secrets").mkdir(exist_ok=True)
        (tmp / "secrets" / "port").write_text(f"{value}\n")
    elif layer == "file":
        (tmp / "app.yaml").write_text(f"port: {value}\n")


@pytest.mark.parametrize(("high", "low"), list(itertools.permutations(LAYERS, 2)))
def test_higher_layer_wins_over_lower_layer(high: str, low: str, tmp_path: Path) -> None:
    others = [layer for layer in LAYERS if layer not in (high, low)]
    order = (high, low, *others)
    settings_cls = make_settings(tmp_path, order)
    env: dict[str, str] = {}
    argv: list[str] = []
    set_layer(high, 100, tmp_path, env, argv)
    set_layer(low, 200, tmp_path, env, argv)
    settings = settings_cls.load(argv=argv, env=env)
    assert settings.port == 100
    origin = envconf.explain(settings)["port"]
    assert origin.source == high
    assert [o.source for o in origin.overridden] == [low, "default"]


@pytest.mark.parametrize("layer", LAYERS)
def test_every_layer_beats_the_default(layer: str, tmp_path: Path) -> None:
    settings_cls = make_settings(tmp_path, LAYERS)
    env: dict[str, str] = {}
    argv: list[str] = []
    set_layer(layer, 7, tmp_path, env, argv)
    settings = settings_cls.load(argv=argv, env=env)
    assert settings.port == 7
    assert envconf.explain(settings)["port"].source == layer


@pytest.mark.parametrize("layer", LAYERS)
def test_init_keywords_beat_every_layer(layer: str, tmp_path: Path) -> None:
    settings_cls = make_settings(tmp_path, LAYERS)
    env: dict[str, str] = {}
    argv: list[str] = []
    set_layer(layer, 7, tmp_path, env, argv)
    # The constructor reads os.environ and no argv: give it both the way load() does.
    settings = settings_cls.__new__(settings_cls)
    settings._envconf_build({"port": 3}, LoadContext(env, argv))
    assert settings.port == 3
    origin = envconf.explain(settings)["port"]
    assert origin.source == "init"
    assert origin.overridden[0].source == layer


@pytest.mark.parametrize("layer", [x for x in LAYERS if x != "cli"])
def test_a_layer_left_out_of_precedence_is_not_read(layer: str, tmp_path: Path) -> None:
    settings_cls = make_settings(tmp_path, tuple(x for x in LAYERS if x != layer))
    env: dict[str, str] = {}
    argv: list[str] = []
    set_layer(layer, 7, tmp_path, env, argv)
    settings = settings_cls.load(argv=argv, env=env)
    assert settings.port == 1
    assert envconf.explain(settings)["port"].source == "default"


@pytest.mark.parametrize("argv", [["--port", "9"], ["--prot", "9"]])
def test_argv_without_a_cli_layer_is_an_error_not_ignored(argv: list[str], tmp_path: Path) -> None:
    settings_cls = make_settings(tmp_path, ("env", "file"))
    with pytest.raises(envconf.ConfigError, match="cli layer is not in precedence"):
        settings_cls.load(argv=argv, env={})


def test_unknown_layer_in_precedence_is_an_error_when_the_class_is_created(tmp_path: Path) -> None:
    with pytest.raises(envconf.ConfigError, match="environment"):
        make_settings(tmp_path, ("cli", "environment"))
