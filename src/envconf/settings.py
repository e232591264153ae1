"""The ``Settings`` base class: four control methods merged into one typed object.

Data flow: sources find raw values (each with its origin) -> ``merge_layers`` folds them
by precedence -> ``shape`` fits them to the model -> one ``model_validate``. The origin
of every leaf is kept on the instance for :func:`envconf.explain`.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, PrivateAttr, ValidationError
from pydantic.version import VERSION as _PYDANTIC_VERSION
from pydantic_settings import BaseSettings
from pydantic_settings import SettingsConfigDict as _BaseConfigDict
from typing_extensions import Self

from envconf.errors import ConfigError, Problem
from envconf.merge import merge_layers
from envconf.model_info import FieldSpec, ModelSpec, build_spec
from envconf.origin import LAYERS, Origin
from envconf.shape import Provenance, shape
from envconf.sources.cli_args import flag_table, parse_argv
from envconf.sources.files import FileReport, choose_files, files_layers, with_profiles
from envconf.sources.names import NameIndex, build_index
from envconf.sources.secrets import secrets_layer
from envconf.sources.variables import VarEntry, variables_layer
from envconf.tree import Leaf, Tree
from envconf.validate import hide_secrets, problems_from

if TYPE_CHECKING:
    from collections.abc import Callable

    from envconf.watching import SettingsChange, SettingsWatcher

DEFAULT_SECRETS_DIR = "/run/secrets"
PYDANTIC_VERSION = tuple(int(part) for part in _PYDANTIC_VERSION.split(".")[:2])


class SettingsConfigDict(_BaseConfigDict, total=False):
    """pydantic-settings' configuration keys plus envconf's own."""

    config_files: Sequence[str]
    config_env: str
    profile_env: str
    interpolate: bool
    allow_unset: bool
    file_suffix: str
    precedence: Sequence[str]


@dataclass(frozen=True)
class ClassState:
    """Everything derived from a settings class' definition, computed once."""

    spec: ModelSpec
    index: NameIndex
    flags: dict[str, Any]
    precedence: tuple[str, ...]
    config_env: str
    profile_env: str
    config_files: tuple[str, ...]
    env_files: tuple[str, ...]
    secrets_dirs: tuple[str, ...]
    interpolate: bool
    allow_unset: bool
    extra: str
    prog: str


@dataclass(frozen=True)
class LoadReport:
    """How a settings object was loaded: precedence, files considered, origins.

    Origins are built on first use (``explain``), not at every load.
    """

    precedence: tuple[str, ...]
    files: tuple[FileReport, ...]
    spec: ModelSpec | None = None
    provenance: dict[tuple[str, ...], Provenance] = field(default_factory=dict)

    @functools.cached_property
    def origins(self) -> dict[str, Origin]:
        """The :class:`Origin` of every leaf key, defaults included."""
        return origins_for(self.spec, self.provenance) if self.spec is not None else {}


_STATES: dict[type[Any], ClassState] = {}
#: ``by_name`` validation needs pydantic 2.11; before it, aliased fields keep their alias.
_BY_NAME = PYDANTIC_VERSION >= (2, 11)
_RAW_INIT: ContextVar[bool] = ContextVar("envconf_raw_init", default=False)


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, os.PathLike)):
        return (os.fspath(value),)
    return tuple(os.fspath(v) for v in value)


def _prog_name() -> str:
    """The program's name for help: the script, or the package run with ``python -m``."""
    path = sys.argv[0] if sys.argv and sys.argv[0] else "app"
    name = os.path.basename(path)
    if name == "__main__.py":
        name = os.path.basename(os.path.dirname(os.path.abspath(path))) or name
    return name


def _check_precedence(precedence: tuple[str, ...]) -> None:
    """Raise ConfigError for unknown or repeated layer names."""
    problems = []
    for at, name in enumerate(precedence):
        if name in ("init", "default"):
            why = "is always first" if name == "init" else "is always last"
            problems.append(Problem("precedence", f"layer {name!r} {why}; do not list it"))
        elif name not in LAYERS:
            known = ", ".join(LAYERS)
            problems.append(Problem("precedence", f"unknown layer {name!r} (known: {known})"))
        elif name in precedence[:at]:
            problems.append(Problem("precedence", f"layer {name!r} is listed twice"))
    if problems:
        raise ConfigError(problems)


def class_state(cls: type[Settings]) -> ClassState:
    """Return (and cache) the derived state of ``cls``.

    Raises:
        ConfigError: ``precedence`` names an unknown layer.
    """
    state = _STATES.get(cls)
    if state is not None:
        return state
    config: Mapping[str, Any] = cls.model_config
    prefix = str(config.get("env_prefix") or "")
    delimiter = str(config.get("env_nested_delimiter") or "")
    case_sensitive = bool(config.get("case_sensitive", False))
    spec = build_spec(cls, prefix=prefix, delimiter=delimiter, case_sensitive=case_sensitive)
    file_suffix = str(config.get("file_suffix", "_FILE"))
    index = build_index(spec, prefix=prefix, file_suffix=file_suffix, case_sensitive=case_sensitive)
    precedence = tuple(config.get("precedence") or LAYERS)
    _check_precedence(precedence)
    state = ClassState(
        spec=spec,
        index=index,
        flags=flag_table(spec),
        precedence=precedence,
        config_env=str(config.get("config_env") or f"{prefix}CONFIG"),
        profile_env=str(config.get("profile_env") or f"{prefix}PROFILE"),
        config_files=_as_tuple(config.get("config_files")),
        env_files=_as_tuple(config.get("env_file")),
        secrets_dirs=_as_tuple(config.get("secrets_dir", DEFAULT_SECRETS_DIR)),
        interpolate=bool(config.get("interpolate", True)),
        allow_unset=bool(config.get("allow_unset", False)),
        extra=str(config.get("extra") or "forbid"),
        prog=str(config.get("cli_prog_name") or _prog_name()),
    )
    _STATES[cls] = state
    return state


def _aliases(model: type[BaseModel]) -> dict[str, str]:
    """Field names by alias: keyword arguments may use either, as in pydantic."""
    out: dict[str, str] = {}
    for name, info in model.model_fields.items():
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                out[alias] = name
    return out


def _init_layer(values: Mapping[str, Any], spec: ModelSpec) -> Tree:
    """Constructor keyword arguments as the ``init`` layer (nested dicts descend)."""
    tree: Tree = {}
    aliases = _aliases(spec.model)
    for given, value in values.items():
        name = given if given in spec.children else aliases.get(given, given)
        child = spec.children.get(name)
        if isinstance(child, ModelSpec) and isinstance(value, BaseModel):
            value = {k: getattr(value, k) for k in type(value).model_fields}
        if isinstance(child, ModelSpec) and isinstance(value, dict):
            tree[name] = _init_layer(value, child)
        else:
            tree[name] = Leaf(value, "init", "init")
    return tree


def _dotenv_layer(state: ClassState, env: Mapping[str, str]) -> tuple[Tree, list[Problem]]:
    from envconf.sources.dotenv import dotenv_entries

    entries, problems = dotenv_entries(state.env_files, env)
    tree, more = variables_layer(entries, state.index, source="dotenv")
    return tree, problems + more


def gather(
    cls: type[Settings],
    init: Mapping[str, Any],
    argv: Sequence[str] | None,
    env: Mapping[str, str] | None,
    config_files: Sequence[str] | None,
) -> tuple[dict[str, Any], dict[tuple[str, ...], Provenance], list[Problem], LoadReport]:
    """Run every source and merge: the raw data, provenance and problems so far."""
    state = class_state(cls)
    environ: Mapping[str, str] = os.environ if env is None else env
    problems: list[Problem] = []
    cli_tree: Tree = {}
    cli_files: list[str] = []
    if argv is not None:
        result = parse_argv(list(argv), state.spec, state.flags, state.prog)
        cli_tree, cli_files = result.tree, result.config_files
    trees: dict[str, list[Tree]] = {}
    reports: list[FileReport] = []
    for layer in state.precedence:
        if layer == "cli":
            trees[layer] = [cli_tree]
        elif layer == "env":
            entries = _prefixed_entries(environ, state.index)
            tree, found = variables_layer(entries, state.index, source="env")
            trees[layer] = [tree]
            problems.extend(found)
        elif layer == "dotenv":
            tree, found = _dotenv_layer(state, environ)
            trees[layer] = [tree]
            problems.extend(found)
        elif layer == "secret":
            # Like pydantic-settings: of several secrets dirs, a later one wins.
            trees[layer] = []
            for secrets_dir in reversed(state.secrets_dirs):
                tree, found = secrets_layer(secrets_dir, state.index)
                trees[layer].append(tree)
                problems.extend(found)
        elif layer == "file":
            configured = state.config_files if config_files is None else _as_tuple(config_files)
            candidates = choose_files(cli_files, environ, state.config_env, configured)
            profiles = [
                p.strip() for p in environ.get(state.profile_env, "").split(",") if p.strip()
            ]
            loaded, reports, found = files_layers(
                with_profiles(candidates, profiles),
                environ,
                state.index,
                interpolation=state.interpolate,
                allow_unset=state.allow_unset,
            )
            trees[layer] = list(reversed(loaded))
            problems.extend(found)
    ordered: list[Tree] = [_init_layer(init, state.spec)] if init else []
    for layer in state.precedence:
        ordered.extend(trees.get(layer, []))
    ranks = {name: i for i, name in enumerate(("init", *state.precedence))}
    data, provenance, found = shape(merge_layers(ordered), state.spec, state.extra, ranks)
    problems.extend(found)
    report = LoadReport(state.precedence, tuple(reports))
    return data, provenance, problems, report


def _prefixed_entries(environ: Mapping[str, str], index: NameIndex) -> list[VarEntry]:
    """Entries for the variables that carry the prefix (only those can name a key)."""
    prefix = index.prefix
    if not prefix:
        return [VarEntry(k, v, k) for k, v in environ.items()]
    size = len(prefix)
    if index.case_sensitive:
        return [VarEntry(k, v, k) for k, v in environ.items() if k.startswith(prefix)]
    upper = prefix.upper()
    return [VarEntry(k, v, k) for k, v in environ.items() if k[:size].upper() == upper]


def origins_for(
    spec: ModelSpec, provenance: dict[tuple[str, ...], Provenance]
) -> dict[str, Origin]:
    """The :class:`Origin` of every leaf key, defaults included."""
    origins: dict[str, Origin] = {}
    for leaf in spec.leaves():
        found = provenance.get(leaf.path)
        if found is None:
            for depth in range(len(leaf.path) - 1, 0, -1):
                found = provenance.get(leaf.path[:depth])
                if found is not None:
                    break
        tail: tuple[Origin, ...] = () if leaf.required else (Origin("default", "default"),)
        if found is None:
            origins[leaf.key] = Origin("default", "default")
            continue
        beaten = tuple(Origin(b.source, b.location) for b in found.beaten)
        origins[leaf.key] = Origin(found.leaf.source, found.leaf.location, beaten + tail)
    return origins


def _secret_values(state: ClassState, environ: Mapping[str, str]) -> list[str]:
    """The values of environment variables that set a secret key (to hide from messages)."""
    values: list[str] = []
    for name, value in environ.items():
        spec = state.index.lookup(name)
        if isinstance(spec, FieldSpec) and spec.secret:
            values.append(value)
    return values


def _unreported(found: list[Problem], reported: list[Problem]) -> list[Problem]:
    """Drop validation problems for keys a source already reported (one cause, one line)."""
    keys = {p.key for p in reported if p.key}
    return [p for p in found if not any(p.key == k or p.key.startswith(k + ".") for k in keys)]


class Settings(BaseSettings):
    """Typed settings loaded from CLI flags, env vars, ``.env``, secrets and config files.

    ``AppSettings()`` loads like ``AppSettings.load()``; keyword arguments win over every
    layer (origin ``init``). Every problem is raised as one :class:`envconf.ConfigError`.
    """

    model_config: ClassVar[SettingsConfigDict] = SettingsConfigDict(
        extra="forbid",
        validate_default=True,
        # Set here, not defaulted in class_state: pydantic-settings' own default (None)
        # would hide it, and an explicit ``secrets_dir=None`` must still turn it off.
        secrets_dir=DEFAULT_SECRETS_DIR,
    )

    _envconf_report: LoadReport | None = PrivateAttr(default=None)

    def __init__(self, **values: Any) -> None:
        if _RAW_INIT.get():
            BaseModel.__init__(self, **values)
            return
        self._envconf_build(values, None, None, None)

    @classmethod
    def load(
        cls,
        argv: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        config_files: Sequence[str] | None = None,
    ) -> Self:
        """Load settings from every layer.

        Args:
            argv: command-line arguments for the ``cli`` layer (``None``: no CLI layer).
            env: the environment to read (``None``: ``os.environ``).
            config_files: replaces the configured list of config files.

        Raises:
            ConfigError: every problem found, one per line, located and secret-free.
            SystemExit: only for ``--help`` in ``argv`` (status 0).
        """
        instance = cls.__new__(cls)
        instance._envconf_build({}, argv, env, config_files)
        return instance

    @classmethod
    def watch(
        cls,
        callback: Callable[[Self, SettingsChange[Self]], None],
        *,
        argv: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        config_files: Sequence[str] | None = None,
        poll_interval: float = 1.0,
        on_error: Callable[[ConfigError], None] | None = None,
    ) -> SettingsWatcher[Self]:
        """Load the settings now and reload them whenever their files change.

        Returns a started :class:`envconf.watching.SettingsWatcher`: ``.current`` is the
        latest valid object, ``callback(new, change)`` runs after each effective change,
        ``on_error(ConfigError)`` when a change is invalid (the old object is kept); use it
        as a context manager or call ``.stop()``.

        Raises:
            ConfigError: the initial configuration is invalid.
        """
        from envconf.watching import SettingsWatcher

        watcher = SettingsWatcher(
            cls,
            callback,
            argv=argv,
            env=env,
            config_files=config_files,
            poll_interval=poll_interval,
            on_error=on_error,
        )
        return watcher.start()

    def _envconf_build(
        self,
        init: Mapping[str, Any],
        argv: Sequence[str] | None,
        env: Mapping[str, str] | None,
        config_files: Sequence[str] | None,
    ) -> None:
        cls = type(self)
        state = class_state(cls)
        data, provenance, problems, report = gather(cls, init, argv, env, config_files)
        failed = False
        token = _RAW_INIT.set(True)
        try:
            # By field name: sources key values by name, also for fields with an alias.
            validator = self.__pydantic_validator__
            if _BY_NAME:
                validator.validate_python(data, self_instance=self, by_name=True)
            else:  # pragma: no cover - pydantic < 2.11
                validator.validate_python(data, self_instance=self)
        except ValidationError as exc:
            problems.extend(_unreported(problems_from(exc, state.spec, provenance), problems))
            failed = True
        finally:
            _RAW_INIT.reset(token)
        if problems or failed:
            environ: Mapping[str, str] = os.environ if env is None else env
            raise ConfigError(
                hide_secrets(problems, state.spec, provenance, _secret_values(state, environ))
            )
        self._envconf_report = LoadReport(report.precedence, report.files, state.spec, provenance)
