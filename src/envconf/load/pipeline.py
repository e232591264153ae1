"""One load: build the sources, loop over them, merge their layers with origins.

The sources are pydantic-settings' own where it defines the semantics (init, env,
dotenv, secrets, its CLI, and whatever ``settings_customise_sources`` returns) plus
envconf's ``file`` and ``cli`` layers. Each gives a :class:`~envconf.load.source.Layer`;
the layers are folded by :func:`~envconf.load.merge.beneath` in the order the sources
come (highest first), exactly as pydantic-settings' ``deep_update`` folds them, so the
merged tree is both what pydantic validates and where every value came from.
"""

from __future__ import annotations

import functools
import inspect
import logging
import types
from collections.abc import Mapping
from typing import Any

from pydantic_settings import (
    BaseSettings,
    CliSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsError,
)
from pydantic_settings.sources import ENV_FILE_SENTINEL, DefaultSettingsSource

from envconf.errors import Problem
from envconf.load.classinfo import ClassInfo, class_info
from envconf.load.merge import beneath
from envconf.load.source import Layer, LoadContext, Source
from envconf.load.sources.argv import ArgvSource
from envconf.load.sources.env import DotEnvSource, EnvSource
from envconf.load.sources.foreign import ForeignSource, state_name
from envconf.load.sources.secrets import SecretsDirSource
from envconf.load.tree import Tree, iter_leaves, plain
from envconf.records import TYPE_CHECKING
from envconf.redact import Redactor

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from envconf.records import NamedTuple


class Loaded(NamedTuple):
    """What the sources of one load found, before validation."""

    state: dict[str, Any]
    tree: Tree
    layers: list[Layer]
    problems: list[Problem]
    info: ClassInfo

    @property
    def redactor(self) -> Redactor:
        """Every secret any layer read; built on demand (a load that fails needs it)."""
        return _redactor(self.layers, self.info)


@functools.cache
def constructor_keywords() -> frozenset[str]:
    """pydantic-settings' ``BaseSettings.__init__`` keywords (``_env_file``, ``_cli_prefix``...).

    Read from the function's code, not ``inspect.signature`` (~0.2 ms of the first load).
    """
    init: types.FunctionType = inspect.unwrap(BaseSettings.__init__)
    code = init.__code__
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    return frozenset(name for name in names if name.startswith("_") and name != "__pydantic_self__")


def split_keywords(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split constructor keywords (``_env_file``...) from field values."""
    known = constructor_keywords()
    options = {k: v for k, v in values.items() if k in known}
    return options, {k: v for k, v in values.items() if k not in known}


def _cli_marked(cls: type[Any]) -> bool:
    """Whether the model uses pydantic-settings' CLI-only field markers (subcommands...)."""
    from pydantic_settings.sources.types import _CliPositionalArg, _CliSubCommand

    for info in cls.model_fields.values():
        if any(m in (_CliSubCommand, _CliPositionalArg) for m in info.metadata):
            return True
    return False


def uses_pydantic_cli(cls: type[Any], options: Mapping[str, Any]) -> bool:
    """Whether ``argv`` goes to pydantic-settings' CLI source rather than envconf's flags.

    That is the case when the model configures pydantic-settings' CLI (a ``cli_*`` key
    other than the program name), a ``_cli_*`` keyword is given, or a field is a CLI
    subcommand or positional argument.
    """
    if any(k.startswith("_cli_") and v is not None for k, v in options.items()):
        return True
    config, base = cls.model_config, BaseSettings.model_config
    for key, value in config.items():
        if key.startswith("cli_") and key != "cli_prog_name" and value != base.get(key):
            return True
    return _cli_marked(cls)


def make_sources(
    cls: type[Any], options: Mapping[str, Any], values: dict[str, Any], ctx: LoadContext
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The sources of one load, as pydantic-settings' ``_settings_init_sources`` builds them.

    The built-in sources are envconf's subclasses of pydantic-settings' own (the same
    constructor arguments, the same meaning, plus origins); ``settings_customise_sources``
    orders them, and pydantic-settings' CLI source is added as it would be.
    """
    if options.get("_build_sources") is not None:
        sources, init_kwargs = options["_build_sources"]
        return tuple(sources), dict(init_kwargs)

    def opt(name: str) -> Any:
        return options.get("_" + name)

    init_state: Any = {"field_info_ids": set()}
    partial = opt("nested_model_default_partial_update")
    default = DefaultSettingsSource(
        cls, nested_model_default_partial_update=partial, _init_state=init_state
    )
    init = _init_source(cls, values, partial, init_state)
    env_keywords: dict[str, Any] = {
        "case_sensitive": opt("case_sensitive"),
        "env_prefix": opt("env_prefix"),
        "env_prefix_target": opt("env_prefix_target"),
        "env_nested_delimiter": opt("env_nested_delimiter"),
        "env_nested_max_split": opt("env_nested_max_split"),
        "env_ignore_empty": opt("env_ignore_empty"),
        "env_parse_none_str": opt("env_parse_none_str"),
        "env_parse_enums": opt("env_parse_enums"),
        "_init_state": init_state,
    }
    env = EnvSource(cls, **env_keywords)
    dotenv = DotEnvSource(
        cls,
        env_file=options.get("_env_file", ENV_FILE_SENTINEL),
        env_file_encoding=opt("env_file_encoding"),
        env_file_depth=opt("env_file_depth"),
        **env_keywords,
    )
    secrets = SecretsDirSource(
        cls,
        secrets_dir=opt("secrets_dir"),
        case_sensitive=opt("case_sensitive"),
        env_prefix=opt("env_prefix"),
        env_prefix_target=opt("env_prefix_target"),
        _init_state=init_state,
    )
    customised: tuple[Any, ...] = cls.settings_customise_sources(
        cls,
        init_settings=init,
        env_settings=env,
        dotenv_settings=dotenv,
        file_secret_settings=secrets,
    )
    sources = (*customised, default)
    sources = _with_pydantic_cli(cls, sources, options, ctx, env, init_state)
    cls._settings_warn_unused_config_keys(sources, cls.model_config)
    return sources, values


def _init_source(
    cls: type[Any], values: dict[str, Any], partial: bool | None, init_state: Any
) -> InitSettingsSource:
    """pydantic-settings' init source; without keywords, built without its per-field walk
    (which only matches the keywords given to field names: none here, so it finds none)."""
    if values:
        return InitSettingsSource(
            cls,
            init_kwargs=values,
            nested_model_default_partial_update=partial,
            _init_state=init_state,
        )
    source = InitSettingsSource.__new__(InitSettingsSource)
    PydanticBaseSettingsSource.__init__(source, cls, init_state)
    source.init_kwargs = {}
    config_partial = cls.model_config.get("nested_model_default_partial_update", False)
    source.nested_model_default_partial_update = partial if partial is not None else config_partial
    return source


def _with_pydantic_cli(
    cls: type[Any],
    sources: tuple[Any, ...],
    options: Mapping[str, Any],
    ctx: LoadContext,
    env: EnvSource,
    init_state: Any,
) -> tuple[Any, ...]:
    """Add pydantic-settings' CLI source where pydantic-settings would."""
    config = cls.model_config

    def setting(name: str) -> Any:
        given = options.get("_" + name)
        return given if given is not None else config.get(name)

    parse_args = setting("cli_parse_args")
    if ctx.argv is not None and uses_pydantic_cli(cls, options):
        parse_args = ctx.argv
        ctx.memo[("argv", cls)] = None  # argv is pydantic-settings' CLI's, not envconf's flags
    custom = [s for s in sources if isinstance(s, CliSettingsSource)]
    if custom:
        if parse_args not in (None, False) and not custom[0].env_vars:
            custom[0](args=parse_args)
        return sources
    given = setting("cli_settings_source")
    if isinstance(given, CliSettingsSource):
        return (given, *sources)
    if parse_args is None:
        return sources
    none_str = setting("env_parse_none_str") or setting("cli_parse_none_str")
    names = [
        "cli_prog_name",
        "cli_hide_none_type",
        "cli_avoid_json",
        "cli_enforce_required",
        "cli_use_class_docs_for_groups",
        "cli_show_env_vars",
        "cli_exit_on_error",
        "cli_prefix",
        "cli_flag_prefix_char",
        "cli_implicit_flags",
        "cli_ignore_unknown_args",
        "cli_kebab_case",
        "cli_shortcuts",
        "case_sensitive",
    ]
    cli = CliSettingsSource[Any](
        cls,
        _init_state=init_state,
        cli_parse_args=parse_args,
        cli_parse_none_str=none_str,
        _env_settings_source=env,
        **{name: setting(name) for name in names},
    )
    return (cli, *sources)


def as_source(source: Any) -> Source:
    """``source`` as an envconf layer: envconf's own as they are, any other wrapped."""
    if callable(getattr(source, "layer", None)) and isinstance(getattr(source, "name", None), str):
        return source  # type: ignore[no-any-return]  # an envconf layer (the Source protocol)
    return ForeignSource(source)


def run_sources(
    cls: type[Any], sources: tuple[Any, ...], init_kwargs: dict[str, Any], ctx: LoadContext
) -> Loaded:
    """Load every layer in order and merge them (highest first), as pydantic-settings does."""
    info = class_info(cls)
    problems: list[Problem] = []
    pydantic_cli = any(isinstance(s, CliSettingsSource) for s in sources)
    if (
        ctx.argv is not None
        and not pydantic_cli
        and not any(isinstance(s, ArgvSource) for s in sources)
    ):
        # Reading some of argv (--config) but not the rest would half-ignore it: refuse.
        message = "argv was given, but the cli layer is not in precedence (nothing would read it)"
        problem = Problem("precedence", message, "cli", "argv")
        return Loaded({}, {}, [], [problem], info)
    merged: Tree = {}
    layers: list[Layer] = []
    defaults: dict[str, Any] = {}
    states: dict[str, dict[str, Any]] = {}
    for source in sources:
        if pydantic_cli and isinstance(source, ArgvSource):
            continue  # argv went to pydantic-settings' CLI source
        layer_source = as_source(source)
        if isinstance(source, PydanticBaseSettingsSource):
            ctx.state = plain(merged)
            source._set_current_state(ctx.state)
            source._set_settings_sources_data(states)
        try:
            layer = layer_source.layer(ctx)
        except SettingsError as exc:
            layer = Layer(
                layer_source.name, {}, [Problem("", str(exc), layer_source.name, layer_source.name)]
            )
        layers.append(layer)
        problems.extend(layer.problems)
        values = plain(layer.tree)
        states[state_name(source)] = values
        if isinstance(source, DefaultSettingsSource):
            defaults = values
        merged = beneath(merged, layer.tree)
    from pydantic_settings.utils import _settings_debug_enabled, logger

    if _settings_debug_enabled() and logger.isEnabledFor(logging.DEBUG):
        cls._settings_log_debug(states)  # pydantic-settings' PYDANTIC_SETTINGS_DEBUG report
    if info.extra == "forbid":
        from envconf.load.fit import unknown_nested_keys

        problems.extend(unknown_nested_keys(merged, info.spec, info.names.case_sensitive))
    state = plain(merged)
    state = {k: v for k, v in state.items() if k not in defaults or defaults[k] != v}
    renamed = _restore_init_names(cls, init_kwargs, state, sources)
    for old, new in renamed.items():
        if old in merged:
            merged[new] = merged.pop(old)
    return Loaded(state, merged, layers, problems, info)


def _restore_init_names(
    cls: type[Any], init_kwargs: dict[str, Any], state: dict[str, Any], sources: tuple[Any, ...]
) -> dict[str, str]:
    """Key the state by the names given to the constructor, as pydantic-settings does."""
    if not init_kwargs:
        return {}
    before = dict(state)
    last = sources[-1] if sources else None
    init_state = getattr(last, "_init_state", None) or {"field_info_ids": set()}
    cls._settings_restore_init_kwarg_names(cls, init_kwargs, state, init_state)
    renamed: dict[str, str] = {}
    for key in set(state) - set(before):
        for old in set(before) - set(state):
            if before[old] is state[key]:
                renamed[old] = key
    return renamed


def _redactor(layers: list[Layer], info: ClassInfo) -> Redactor:
    """Every secret any layer read: secret files' contents and secret fields' values."""
    from envconf.load.validate import texts_of

    secret_keys = info.secret_keys
    texts: list[str] = []
    for layer in layers:
        texts.extend(layer.secrets)
        for path, leaf in iter_leaves(layer.tree):
            if leaf.secret or any(path[: len(k)] == k for k in secret_keys):
                texts.extend(texts_of(leaf.value))
    return Redactor(texts)
