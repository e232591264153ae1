"""What envconf derives from a settings class' definition, computed once per class.

The derived state lives on the class itself (:func:`class_cache`), so a class that is no
longer used is collected with everything envconf computed for it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from envconf.errors import ConfigError, Problem
from envconf.load.model import FieldSpec, ModelSpec, build_spec
from envconf.load.names import NameIndex, build_index
from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from envconf.records import NamedTuple

#: What a problem says instead of quoting a secret's text (a "$" in it, read as a reference,
#: would otherwise name the rest of the secret as a "variable").
SECRET_REFERENCE = (
    "holds a '$' that does not start a set variable (write '$$' for a literal '$'); "
    "the text is not shown because this key is a secret"
)

#: Every layer name envconf provides, in the default order of precedence (highest first).
LAYERS: tuple[str, ...] = ("cli", "env", "dotenv", "secret", "file")
DEFAULT_SECRETS_DIR = "/run/secrets"

_CACHE = "__envconf_cache__"


def class_cache(cls: type[Any]) -> dict[Any, Any]:
    """A cache dict belonging to ``cls`` alone (not inherited by subclasses)."""
    cache: dict[Any, Any] | None = cls.__dict__.get(_CACHE)
    if cache is None:
        cache = {}
        type.__setattr__(cls, _CACHE, cache)
    return cache


class ClassInfo(NamedTuple):
    """Everything derived from a settings class' configuration."""

    spec: ModelSpec
    names: NameIndex
    precedence: tuple[str, ...]
    config_env: str
    profile_env: str
    config_files: tuple[str, ...]
    interpolate: bool
    allow_unset: bool
    extra: str
    prog: str
    secret_keys: frozenset[tuple[str, ...]]

    def is_secret(self, keys: tuple[str, ...]) -> bool:
        """Whether the value at ``keys`` (field names or aliases) belongs to a secret field."""
        node: Any = self.spec
        for key in keys:
            if not isinstance(node, ModelSpec):
                break
            node = node.child(key)
            if node is None:
                return False
        return isinstance(node, FieldSpec) and node.key_path in self.secret_keys

    @property
    def prefix(self) -> str:
        """The ``env_prefix`` in effect."""
        return self.names.prefix


def as_paths(value: Any) -> tuple[str, ...]:
    """A path or a sequence of paths as a tuple of strings (``None``: empty)."""
    if value is None:
        return ()
    if isinstance(value, (str, os.PathLike)):
        return (os.fspath(value),)
    return tuple(os.fspath(v) for v in value)


def prog_name() -> str:
    """The program's name for help: the script, or the package run with ``python -m``."""
    path = sys.argv[0] if sys.argv and sys.argv[0] else "app"
    name = os.path.basename(path)
    if name == "__main__.py":
        name = os.path.basename(os.path.dirname(os.path.abspath(path))) or name
    return name


def check_precedence(precedence: tuple[str, ...]) -> list[Problem]:
    """Problems with a ``precedence`` list: unknown, repeated or fixed layer names."""
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
    return problems


def class_info(cls: type[Any], overrides: Mapping[str, Any] | None = None) -> ClassInfo:
    """Return (and cache) what envconf derives from ``cls``' configuration.

    ``overrides`` are constructor keywords (``_env_prefix``, ``_case_sensitive``,
    ``_env_nested_delimiter``) that change variable names for one load; such a result is
    not cached.

    Raises:
        ConfigError: ``precedence`` names an unknown layer.
    """
    cache = class_cache(cls)
    relevant = {
        k: v
        for k, v in (overrides or {}).items()
        if k in ("_env_prefix", "_case_sensitive", "_env_nested_delimiter") and v is not None
    }
    if not relevant and "info" in cache:
        info: ClassInfo = cache["info"]
        return info
    config: Mapping[str, Any] = cls.model_config
    prefix = str(relevant.get("_env_prefix", config.get("env_prefix")) or "")
    delimiter = str(relevant.get("_env_nested_delimiter", config.get("env_nested_delimiter")) or "")
    case_sensitive = bool(relevant.get("_case_sensitive", config.get("case_sensitive", False)))
    spec = build_spec(cls, prefix=prefix, delimiter=delimiter, case_sensitive=case_sensitive)
    file_suffix = str(config.get("file_suffix", "_FILE"))
    index = build_index(spec, prefix=prefix, file_suffix=file_suffix, case_sensitive=case_sensitive)
    precedence = tuple(config.get("precedence") or LAYERS)
    problems = check_precedence(precedence)
    if problems:
        raise ConfigError(problems)
    info = ClassInfo(
        spec=spec,
        names=index,
        precedence=precedence,
        config_env=str(config.get("config_env") or f"{prefix}CONFIG"),
        profile_env=str(config.get("profile_env") or f"{prefix}PROFILE"),
        config_files=as_paths(config.get("config_files")),
        interpolate=bool(config.get("interpolate", True)),
        allow_unset=bool(config.get("allow_unset", False)),
        extra=str(config.get("extra") or "forbid"),
        prog=str(config.get("cli_prog_name") or prog_name()),
        secret_keys=frozenset(_secret_keys(spec)),
    )
    if not relevant:
        cache["info"] = info
    return info


def _secret_keys(spec: ModelSpec) -> list[tuple[str, ...]]:
    """The validation-key paths of every field that holds a secret type."""
    from envconf.load.model import holds_secret

    out: list[tuple[str, ...]] = []
    for leaf in spec.leaves():
        if isinstance(leaf, FieldSpec) and holds_secret(leaf.annotation):
            out.append(leaf.key_path)
    return out
