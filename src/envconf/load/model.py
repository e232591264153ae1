"""What envconf needs to know about a settings class, computed once per class.

For every leaf field (dotted key) this records its type family, whether it is a secret,
its default, its environment variable and CLI flag, so that sources can map raw names to
keys without touching pydantic again on every load.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import itertools
import types
import typing
from pathlib import PurePath
from typing import Any, Literal, Union

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from envconf.records import NamedTuple

#: Sentinel for "no default: the field is required".
REQUIRED: Any = PydanticUndefined

Kind = Literal["str", "bool", "scalar", "complex", "any"]


class FieldSpec(NamedTuple):
    """A leaf field: one value an operator can set.

    ``path`` holds field names (the dotted key users see); ``key_path`` the names pydantic
    validates the value under (an alias when the field has one and aliases are in use).
    """

    path: tuple[str, ...]
    annotation: Any
    kind: Kind
    secret: bool
    default: Any
    explicit_description: str | None
    env_name: str
    info: FieldInfo
    owner: type[BaseModel] | None = None
    key_path: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    @property
    def description(self) -> str | None:
        """``Field(description=...)``, else the attribute's docstring in the class source.

        Docstrings are read here, only for help and docs: pydantic's
        ``use_attribute_docstrings`` would parse every settings class' source at import.
        """
        if self.explicit_description or self.owner is None:
            return self.explicit_description
        return attribute_docstrings(self.owner).get(self.path[-1])

    @property
    def key(self) -> str:
        """The dotted key, e.g. ``db.port``."""
        return ".".join(self.path)

    @property
    def cli_flag(self) -> str:
        """The CLI flag as shown in help: dotted, with dashes for underscores."""
        return "--" + ".".join(part.replace("_", "-") for part in self.path)

    @property
    def required(self) -> bool:
        """Whether the field has no default."""
        return self.default is REQUIRED


class ModelSpec:
    """A (nested) model: its leaf fields and sub-models, by field name.

    ``by_key`` finds a child by any name a source may use for it: its field name, its
    aliases, and the key pydantic validates it under. Immutable once built (its dicts are
    filled while it is built); a plain class, not a dataclass, whose machinery costs a
    third of a millisecond at every app start.
    """

    __slots__ = ("by_key", "children", "env_name", "key_path", "model", "names", "path")
    _FIELDS = ("path", "model", "env_name", "children", "key_path", "names", "by_key")

    path: tuple[str, ...]
    model: type[BaseModel]
    env_name: str
    children: dict[str, FieldSpec | ModelSpec]
    key_path: tuple[str, ...]
    names: tuple[str, ...]
    by_key: dict[str, str]

    def __init__(
        self,
        path: tuple[str, ...],
        model: type[BaseModel],
        env_name: str,
        children: dict[str, FieldSpec | ModelSpec] | None = None,
        key_path: tuple[str, ...] = (),
        names: tuple[str, ...] = (),
        by_key: dict[str, str] | None = None,
    ) -> None:
        init = object.__setattr__
        init(self, "path", path)
        init(self, "model", model)
        init(self, "env_name", env_name)
        init(self, "children", {} if children is None else children)
        init(self, "key_path", key_path)
        init(self, "names", names)
        init(self, "by_key", {} if by_key is None else by_key)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a ModelSpec is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a ModelSpec is immutable")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._FIELDS)

    __hash__ = None  # type: ignore[assignment]  # it holds dicts, as the dataclass did

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._FIELDS)
        return f"ModelSpec({shown})"

    def __reduce__(self) -> tuple[type[ModelSpec], tuple[Any, ...]]:
        # Copied and pickled through __init__ (a deep copy of a settings object copies its
        # load report, which holds the specs).
        return ModelSpec, tuple(getattr(self, f) for f in self._FIELDS)

    def replace(self, **changes: Any) -> ModelSpec:
        """A copy with the named fields changed (the dicts are shared, not copied)."""
        values = {f: changes.pop(f, getattr(self, f)) for f in self._FIELDS}
        if changes:
            raise TypeError(f"ModelSpec has no field {next(iter(changes))!r}")
        return ModelSpec(**values)

    @property
    def key(self) -> str:
        """The dotted key, e.g. ``db``."""
        return ".".join(self.path)

    def child(self, key: str) -> FieldSpec | ModelSpec | None:
        """The child a source's ``key`` (field name or alias) names, or ``None``."""
        name = self.by_key.get(key)
        return None if name is None else self.children[name]

    def field_path(self, key_path: tuple[str, ...]) -> tuple[str, ...]:
        """Translate a path of validation keys (aliases) into field names, as far as known."""
        node: FieldSpec | ModelSpec = self
        out: list[str] = []
        for at, part in enumerate(key_path):
            found = node.child(part) if isinstance(node, ModelSpec) else None
            if found is None:
                return (*out, *key_path[at:])
            out.append(found.path[-1])
            node = found
        return tuple(out)

    def leaves(self) -> list[FieldSpec]:
        """Every leaf field under this model, in declaration order."""
        out: list[FieldSpec] = []
        for child in self.children.values():
            if isinstance(child, ModelSpec):
                out.extend(child.leaves())
            else:
                out.append(child)
        return out

    def find(self, path: tuple[str, ...]) -> FieldSpec | ModelSpec | None:
        """Return the spec at ``path`` (relative to this model), or ``None``."""
        node: FieldSpec | ModelSpec = self
        for part in path:
            if not isinstance(node, ModelSpec) or part not in node.children:
                return None
            node = node.children[part]
        return node


def strip_optional(annotation: Any) -> Any:
    """Return ``X`` for ``Optional[X]`` / ``X | None`` / ``Annotated[X, ...]``, nested."""
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return strip_optional(args[0])  # Optional[Annotated[SecretStr, ...]]
    if origin is typing.Annotated:
        return strip_optional(typing.get_args(annotation)[0])
    return annotation


def model_class(annotation: Any) -> type[BaseModel] | None:
    """Return the model class when the annotation is a (possibly optional) model."""
    inner = strip_optional(annotation)
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return inner
    return None


def is_secret(annotation: Any) -> bool:
    """Whether values of this type must never be shown (SecretStr and friends)."""
    inner = strip_optional(annotation)
    origin = typing.get_origin(inner) or inner
    if isinstance(origin, type):
        if issubclass(origin, (SecretStr, SecretBytes)):
            return True
        return any(base.__name__ == "Secret" for base in origin.__mro__)
    return False


def holds_secret(annotation: Any) -> bool:
    """Whether a secret type appears anywhere in ``annotation`` (``dict[str, SecretStr]``)."""
    if is_secret(annotation):
        return True
    return any(holds_secret(arg) for arg in typing.get_args(strip_optional(annotation)))


_KINDS: dict[Any, Kind] = {}


def kind_of(annotation: Any) -> Kind:
    """Classify a type: how raw YAML scalars and env strings should be read for it.

    Cached per annotation: it runs for every YAML scalar of every load.
    """
    try:
        return _KINDS[annotation]
    except (KeyError, TypeError):
        pass
    kind = _classify(annotation)
    # An unhashable annotation (rare) is simply classified every time.
    with contextlib.suppress(TypeError):
        _KINDS[annotation] = kind
    return kind


def _classify(annotation: Any) -> Kind:
    inner = strip_optional(annotation)
    if inner is Any or inner is object:
        return "any"
    if is_secret(inner):
        return "str"
    origin = typing.get_origin(inner)
    if origin is Literal:
        values = typing.get_args(inner)
        return "str" if all(isinstance(v, str) for v in values) else "scalar"
    if origin is Union or origin is types.UnionType:
        return "scalar"
    if origin is not None:
        return "complex" if origin in _COMPLEX else "scalar"
    if isinstance(inner, type):
        if inner is bool:
            return "bool"
        if issubclass(inner, (str, PurePath)):
            return "str"
        if issubclass(inner, enum.Enum):
            members = [m.value for m in inner]
            return "str" if all(isinstance(v, str) for v in members) else "scalar"
        if issubclass(inner, (list, tuple, set, frozenset, dict, BaseModel)):
            return "complex"
    return "scalar"


_COMPLEX: frozenset[Any] = frozenset({list, tuple, set, frozenset, dict})


def _description(info: FieldInfo) -> str | None:
    text = info.description
    return " ".join(text.split()) if text else None


def _env_name(prefix: str, delimiter: str, path: tuple[str, ...], case_sensitive: bool) -> str:
    name = prefix + delimiter.join(path)
    return name if case_sensitive else name.upper()


def _variable_of(
    prefix: str, delimiter: str, path: tuple[str, ...], keys: tuple[str, ...], sensitive: bool
) -> str:
    """The variable that sets a field, as pydantic-settings reads it.

    Segments are the keys pydantic validates under (an alias when aliases are in use), and
    a top-level field with an alias is read from the alias alone, without the prefix.
    """
    if keys and path and keys[0] != path[0]:
        return _env_name("", delimiter, keys, sensitive)
    return _env_name(prefix, delimiter, keys or path, sensitive)


def field_names(name: str, info: FieldInfo, config: Any) -> tuple[str, ...]:
    """Every key pydantic accepts for a field; the first is the one sources write.

    As pydantic-settings decides it: the aliases when aliases are validated (``validation_alias``
    over ``alias``, each string choice of ``AliasChoices``, the head of an ``AliasPath``),
    plus the field name when validation by name is on or there is no alias.
    """
    from pydantic_settings.sources.utils import (
        _get_alias_names,
        _validate_by_alias_enabled,
        _validate_by_name_enabled,
    )

    names, _ = _get_alias_names(name, info, validate_by_alias=_validate_by_alias_enabled(config))
    if _validate_by_name_enabled(config) and name not in names:
        names = (*names, name)
    return names


def build_spec(
    model: type[BaseModel],
    *,
    prefix: str,
    delimiter: str,
    case_sensitive: bool = False,
    path: tuple[str, ...] = (),
    key_path: tuple[str, ...] = (),
    default_instance: BaseModel | None = None,
) -> ModelSpec:
    """Walk ``model``'s fields recursively into a :class:`ModelSpec`.

    ``default_instance`` supplies leaf defaults when a parent field's default is an
    instance of this model (``db: Database = Database(port=1)``).
    """
    spec = ModelSpec(
        path=path,
        model=model,
        env_name=_variable_of(prefix, delimiter, path, key_path, case_sensitive),
        key_path=key_path,
    )
    config = model.model_config
    for name, info in model.model_fields.items():
        child_path = (*path, name)
        names = field_names(name, info, config)
        child_keys = (*key_path, names[0])
        for key in (name, *names, *_alias_path_heads(info)):
            spec.by_key.setdefault(key, name)
        annotation = info.annotation
        default: Any = _default(info)
        if default_instance is not None:
            default = getattr(default_instance, name, default)
        sub = model_class(annotation)
        if sub is not None and delimiter:
            sub_default = default if isinstance(default, BaseModel) else None
            child = build_spec(
                sub,
                prefix=prefix,
                delimiter=delimiter,
                case_sensitive=case_sensitive,
                path=child_path,
                key_path=child_keys,
                default_instance=sub_default,
            )
            spec.children[name] = child.replace(names=names)
            continue
        spec.children[name] = FieldSpec(
            path=child_path,
            annotation=annotation,
            kind=kind_of(annotation),
            secret=is_secret(annotation),
            default=default,
            explicit_description=_description(info),
            env_name=_variable_of(
                prefix, delimiter or "__", child_path, child_keys, case_sensitive
            ),
            info=info,
            owner=model,
            key_path=child_keys,
            names=names,
        )
    return spec


def _alias_path_heads(info: FieldInfo) -> list[str]:
    """The first key of each ``AliasPath`` a field validates from (``AliasPath('cc', 0)``)."""
    from pydantic import AliasChoices, AliasPath

    alias = info.validation_alias
    choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
    return [c.path[0] for c in choices if isinstance(c, AliasPath) and isinstance(c.path[0], str)]


def _default(info: FieldInfo) -> Any:
    """The field's default; a ``default_factory`` that needs the validated data has none here."""
    if info.default_factory is not None and info.default_factory_takes_validated_data:
        return _DEPENDS
    return info.get_default(call_default_factory=True, validated_data={})


class _DependsOnData:
    """The default of a ``default_factory`` that takes the validated data: known only then."""

    def __repr__(self) -> str:
        return "(computed from other fields)"


_DEPENDS: Any = _DependsOnData()


def is_sequence(annotation: Any) -> bool:
    """Whether the field holds a list-like value (repeatable CLI flag)."""
    inner = strip_optional(annotation)
    origin = typing.get_origin(inner) or inner
    return isinstance(origin, type) and issubclass(origin, (list, tuple, set, frozenset))


@functools.cache
def attribute_docstrings(model: type[BaseModel]) -> dict[str, str]:
    """The docstrings written under attributes in ``model``'s class body (``x: int = 1``
    followed by a string literal), whitespace-normalised; empty when the source is unknown.
    """
    import ast
    import inspect
    import textwrap

    try:
        source = textwrap.dedent(inspect.getsource(model))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return {}
    found: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        body = node.body
        for this, after in itertools.pairwise(body):
            target = this.target if isinstance(this, ast.AnnAssign) else None
            if (
                isinstance(target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                found[target.id] = " ".join(after.value.value.split())
        break
    return found
