"""The ``env`` and ``dotenv`` layers: pydantic-settings' env sources, with origins.

pydantic-settings decides what a variable means (aliases, ``env_nested_delimiter`` for
every field kind, complex-value decoding, ``env_parse_none_str``...); these subclasses
feed it the variables of one load and add what envconf promises on top:

* every value's origin: the variable it came from (``APP_DB__PORT``, ``.env:3``);
* ``VAR_FILE``: ``APP_DB__PASSWORD_FILE=/run/secrets/pw`` reads the value from a file,
  only for names that map to a key (an unrelated ``LOG_FILE`` is never opened);
* located problems instead of exceptions: both ``VAR`` and ``VAR_FILE`` set, two names
  differing only by case for one key, bytes that are not UTF-8, a value that is not JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from envconf.errors import Problem
from envconf.fileread import FileReadError, FileVariables
from envconf.load.classinfo import class_cache, class_info
from envconf.load.source import FileReport, Input, Layer, LoadContext
from envconf.load.sources.dotenv import VarEntry
from envconf.load.tree import Path, from_values
from envconf.origin import Origin
from envconf.records import TYPE_CHECKING
from envconf.text import is_utf8

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from envconf.records import NamedTuple

__all__ = ["VarEntry", "VariablesLayer"]


class _Resolved(NamedTuple):
    """The variables pydantic-settings will read, and where each came from."""

    values: dict[str, str]
    locations: dict[str, str]
    secret: frozenset[str]
    problems: list[Problem]
    secrets: tuple[str, ...]
    files: tuple[tuple[str, str], ...]


class _Names(NamedTuple):
    top: frozenset[str]
    prefixes: tuple[str, ...]
    fields: dict[str, str]
    by_key: dict[str, list[str]]


class VariablesLayer:
    """What the ``env`` and ``dotenv`` layers add to pydantic-settings' env sources."""

    name = "env"
    case_sensitive: bool
    env_prefix: str
    env_nested_delimiter: str | None
    env_ignore_empty: bool
    env_parse_none_str: str | None
    env_vars: Mapping[str, str | None]
    settings_cls: type[Any]
    config: SettingsConfigDict

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # Read in layer(), from the load's own environment, not at construction.
        return getattr(self, "_pending", {})

    def _entries(
        self, ctx: LoadContext
    ) -> tuple[list[VarEntry], list[Problem], tuple[FileReport, ...]]:
        raise NotImplementedError  # pragma: no cover - each layer says where its variables are

    def _norm(self, name: str) -> str:
        return name if self.case_sensitive else name.lower()

    def layer(self, ctx: LoadContext) -> Layer:
        """Read this layer's variables for one load and let pydantic-settings interpret them."""
        entries, problems, reports = self._entries(ctx)
        resolved = self._resolve(entries)
        problems.extend(resolved.problems)
        self.env_vars = parse_env_vars(
            resolved.values, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )
        self._locations = resolved.locations
        self._secret = resolved.secret
        self._groups = self._group_nested(self.env_vars)
        self._problems: list[Problem] = []
        data = self()  # type: ignore[operator]  # pydantic-settings' __call__
        problems.extend(self._problems)
        tree = from_values(data, self._origin_of, self._is_secret if self._secret else None)
        inputs = (
            *(Input(r.path, "env file") for r in reports),
            *(Input(path, name) for name, path in resolved.files),
        )
        return Layer(self.name, tree, problems, inputs, (), resolved.secrets)

    def is_secret_variable(self, name: str) -> bool:
        """Whether the variable ``name`` sets a secret field (its text is never quoted)."""
        norm = self._norm(name)
        if not self.names_a_key(norm):
            return False
        return class_info(self.settings_cls).is_secret(tuple(self._key(norm).split(".")))

    # --- which variables name a key -----------------------------------------------------

    def _names(self) -> _Names:
        """Normalised top-level variable names, nested prefixes, each name's field, and the
        variables of each key (by field name and by the key pydantic validates under)."""
        cache = class_cache(self.settings_cls)
        key = (
            "names",
            self.env_prefix,
            getattr(self, "env_prefix_target", ""),
            self.case_sensitive,
            self.env_nested_delimiter,
        )
        found = cache.get(key)
        if found is None:
            top: dict[str, str] = {}
            by_key: dict[str, list[str]] = {}
            for field_name, info in self.settings_cls.model_fields.items():
                extracted = self._extract_field_info(info, field_name)
                for _, env_name, _ in extracted:
                    top.setdefault(env_name, field_name)
                names = [env_name for _, env_name, _ in extracted]
                for key_name in (field_name, extracted[0][0]):
                    by_key.setdefault(key_name, []).extend(names)
            delimiter = self.env_nested_delimiter or ""
            prefixes = (
                tuple(self._norm(n) + self._norm(delimiter) for n in top) if delimiter else ()
            )
            found = cache[key] = _Names(frozenset(top), prefixes, top, by_key)
        return found

    def names_a_key(self, name: str) -> bool:
        """Whether the (normalised) variable ``name`` sets a key of the settings class."""
        top, prefixes, _, _ = self._names()
        return name in top or (bool(prefixes) and name.startswith(prefixes))

    def _names_exactly(self, name: str) -> bool:
        """Whether ``name`` is a key's own variable: a field, or a nested model's field.

        A name below a ``dict`` field names *some* key (any key is allowed there), but not
        exactly: ``APP_DB__PASSWORD_FILE`` is the file of ``db.password``, not a field.
        """
        top, _, fields, _ = self._names()
        if name in top:
            return True
        delimiter = self._norm(self.env_nested_delimiter or "")
        if not delimiter:
            return False
        from envconf.load.classinfo import class_info
        from envconf.load.model import ModelSpec

        spec = class_info(self.settings_cls).spec
        for env_name, field_name in fields.items():
            if not name.startswith(env_name + delimiter):
                continue
            node: Any = spec.children.get(field_name)
            for part in name[len(env_name) + len(delimiter) :].split(delimiter):
                if not isinstance(node, ModelSpec):
                    return False
                node = next((c for key, c in _child_keys(node) if self._norm(key) == part), None)
            return node is not None
        return False

    def _resolve(self, entries: Iterable[VarEntry]) -> _Resolved:
        """Apply ``VAR_FILE``, and report collisions and unusable values."""
        entries = list(entries)
        file_suffix = str(self.config.get("file_suffix", "_FILE"))
        suffix = self._norm(file_suffix)
        # Keyed by normalised names, as pydantic-settings matches them.
        reader = FileVariables({self._norm(e.name): e.value for e in entries}, suffix)
        values: dict[str, str] = {}
        locations: dict[str, str] = {}
        overridden: dict[str, list[str]] = {}
        seen: dict[str, VarEntry] = {}
        via_file: list[tuple[str, VarEntry]] = []
        problems: list[Problem] = []
        for entry in entries:
            norm = self._norm(entry.name)
            if suffix and norm.endswith(suffix) and not self._names_exactly(norm):
                base = norm[: -len(suffix)]
                if self.names_a_key(base):
                    via_file.append((base, entry))
                    continue
            keyed = self.names_a_key(norm)
            if keyed and not is_utf8(entry.value):
                message = f"{entry.name} holds bytes that are not valid UTF-8"
                problems.append(Problem(self._key(norm), message, self.name, entry.location))
                continue
            other = seen.get(norm)
            if keyed and other is not None and other.name != entry.name:
                message = f"{other.name} and {entry.name} both set this key; keep one"
                problems.append(Problem(self._key(norm), message, self.name, entry.location))
                continue
            if other is not None:  # a later .env file sets it again: it overrides
                overridden.setdefault(norm, []).insert(0, locations[norm])
            seen[norm] = entry
            values[entry.name] = entry.value
            locations[norm] = entry.location
        secret: set[str] = set()
        texts: list[str] = []
        files: list[tuple[str, str]] = []
        seen_files: dict[str, VarEntry] = {}
        for base, entry in via_file:
            other = seen_files.setdefault(base, entry)
            if other is not entry and other.name != entry.name:
                message = f"{other.name} and {entry.name} both set this key; keep one"
                problems.append(Problem(self._key(base), message, self.name, entry.location))
                continue
            if not entry.value:
                continue
            files.append((entry.name, entry.value))
            direct = seen.get(base)
            if direct is not None and direct.value != "":
                message = f"both {direct.name} and {entry.name} are set; set only one"
                problems.append(Problem(self._key(base), message, self.name, entry.location))
                continue
            name = entry.name[: -len(suffix)]
            try:
                text = reader.lookup(base) or ""
            except FileReadError as exc:
                message = str(exc).removeprefix(f"{base}{suffix}: ")
                problems.append(Problem(self._key(base), message, self.name, entry.location))
                continue
            texts.append(text)
            if direct is not None:
                values.pop(direct.name, None)
            values[name] = text
            locations[base] = f"{entry.value} (via {entry.location})"
            secret.add(base)
        self._overridden = overridden
        return _Resolved(values, locations, frozenset(secret), problems, tuple(texts), tuple(files))

    def _key(self, norm: str) -> str:
        """The dotted key a normalised variable name sets, for problems."""
        top, _, fields, _ = self._names()
        if norm in top:
            return fields[norm]
        delimiter = self._norm(self.env_nested_delimiter or "")
        for name, field_name in fields.items():
            if delimiter and norm.startswith(name + delimiter):
                rest = norm[len(name) + len(delimiter) :].split(delimiter)
                return ".".join([field_name, *rest])
        return norm

    # --- origins ---------------------------------------------------------------------------

    def _origin_of(self, path: Path) -> Origin:
        """The variable a value at ``path`` (validation keys) came from."""
        norm = self._variable_of(path)
        location = self._locations.get(norm, norm) if norm is not None else self.name
        earlier = self._overridden.get(norm or "", ())
        return Origin(self.name, location, tuple(Origin(self.name, at) for at in earlier))

    def _is_secret(self, path: Path) -> bool:
        """Whether the value at ``path`` was read from a ``VAR_FILE``."""
        return self._variable_of(path) in self._secret

    def _variable_of(self, path: Path) -> str | None:
        head = path[0]
        candidates = self._names().by_key.get(head)
        if not candidates:  # an extra (an unknown .env entry), kept by pydantic-settings
            candidates = [self._norm(self.env_prefix + head), self._norm(head)]
        delimiter = self._norm(self.env_nested_delimiter or "")
        for depth in range(len(path), 0, -1):
            if depth > 1 and not delimiter:
                continue
            tail = "".join(delimiter + self._norm(part) for part in path[1:depth])
            for name in candidates:
                if name + tail in self._locations:
                    return name + tail
        return candidates[0]

    def _field_key(self, field_name: str) -> str:
        info = self.settings_cls.model_fields[field_name]
        key: str = self._extract_field_info(info, field_name)[0][0]
        return key

    # --- pydantic-settings hooks: cached per class, problems instead of exceptions ----------

    def _group_nested(self, env_vars: Mapping[str, str | None]) -> dict[str, dict[str, str | None]]:
        """Nested variables (``app_db__port``) grouped by the name before the delimiter."""
        delimiter = self.env_nested_delimiter
        groups: dict[str, dict[str, str | None]] = {}
        if delimiter:
            for name, value in env_vars.items():
                head, found, _ = name.partition(delimiter)
                if found:
                    groups.setdefault(head, {})[name] = value
        return groups

    def explode_env_vars(
        self, field_name: str, field: FieldInfo, env_vars: Mapping[str, str | None]
    ) -> dict[str, Any]:
        # pydantic-settings scans every variable for every complex field; hand it only the
        # variables under this field's own names (the same result, without the scan).
        delimiter = self.env_nested_delimiter
        groups = getattr(self, "_groups", None)
        if not delimiter or groups is None or env_vars is not self.env_vars:
            return super().explode_env_vars(field_name, field, env_vars)  # type: ignore[misc, no-any-return]
        subset: dict[str, str | None] = {}
        for _, env_name, _ in self._extract_field_info(field, field_name):
            if delimiter in env_name:  # a name holding the delimiter itself: scan them all
                return super().explode_env_vars(field_name, field, env_vars)  # type: ignore[misc, no-any-return]
            subset.update(groups.get(env_name, {}))
        if not subset:
            return {}
        return super().explode_env_vars(field_name, field, subset)  # type: ignore[misc, no-any-return]

    def _extract_field_info(
        self, field: FieldInfo, field_name: str, model_config: Mapping[str, Any] | None = None
    ) -> list[tuple[str, str, bool]]:
        cache = class_cache(self.settings_cls)
        key = (
            "field",
            id(field),
            field_name,
            id(model_config),
            self.env_prefix,
            getattr(self, "env_prefix_target", ""),
            self.case_sensitive,
        )
        found = cache.get(key)
        if found is None:
            found = cache[key] = super()._extract_field_info(field, field_name, model_config)  # type: ignore[misc]
        return found  # type: ignore[no-any-return]

    def _field_is_complex(self, field: FieldInfo) -> tuple[bool, bool]:
        cache = class_cache(self.settings_cls)
        key = ("complex", id(field))
        found = cache.get(key)
        if found is None:
            found = cache[key] = super()._field_is_complex(field)  # type: ignore[misc]
        return found  # type: ignore[no-any-return]

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        try:
            return super().prepare_field_value(field_name, field, value, value_is_complex)  # type: ignore[misc]
        except (ValueError, RecursionError) as exc:
            why = getattr(exc, "msg", None) if isinstance(exc, ValueError) else "nested too deeply"
            message = f"not valid JSON ({why})" if why else "cannot be decoded"
            origin = self._origin_of((self._field_key(field_name),))
            self._problems.append(Problem(field_name, message, self.name, origin.location))
            return None


def _child_keys(spec: Any) -> list[tuple[str, Any]]:
    """Every name a child of a model spec answers to: its field name and its aliases."""
    return [(key, spec.children[name]) for key, name in spec.by_key.items()]
