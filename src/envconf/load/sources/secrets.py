"""The ``secret`` layer: one file per key in ``secrets_dir`` (Docker/Swarm/Kubernetes secrets).

A file belongs to a key when its name equals, ignoring case unless the model is case
sensitive, the key's variable name with or without the prefix (``APP_DB__PASSWORD``,
``DB__PASSWORD``; a field with an alias: the alias). Files that name no key are left
alone (the directory is shared with other programs); entries starting with ``..`` are
Kubernetes' swap links, not keys. A link that leaves the directory or two files for one
key is an error naming them; a directory where a file is expected is skipped with a
warning, as pydantic-settings does. Of several secrets dirs, a later one wins.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from pydantic_settings import SecretsSettingsSource

from envconf.errors import Problem, caller_stacklevel
from envconf.fileread import FileReadError, read_secret_file
from envconf.load.classinfo import class_cache, class_info
from envconf.load.merge import merge
from envconf.load.model import FieldSpec, ModelSpec
from envconf.load.source import FileReport, Input, Layer, LoadContext
from envconf.load.tree import Leaf, Tree, set_leaf
from envconf.origin import Origin


class SecretsDirSource(SecretsSettingsSource):
    """The ``secret`` layer, on pydantic-settings' ``SecretsSettingsSource``."""

    name = "secret"

    def _file_names(self) -> dict[str, FieldSpec | ModelSpec]:
        """Normalised file names that belong to each key, with and without the prefix."""
        info = class_info(
            self.settings_cls,
            {"_env_prefix": self.env_prefix, "_case_sensitive": self.case_sensitive},
        )
        cache = class_cache(self.settings_cls)
        key = ("secret-names", self.env_prefix, self.case_sensitive)
        names: dict[str, FieldSpec | ModelSpec] | None = cache.get(key)
        if names is None:
            names = {}
            norm = (lambda n: n) if self.case_sensitive else str.lower
            for table in (info.names.by_name, info.names.unprefixed):
                for name, spec in table.items():
                    if isinstance(spec, FieldSpec) or len(spec.path) == 1:
                        names[norm(name)] = spec
            for spec in info.spec.children.values():  # aliases name top-level keys too
                for alias in spec.names:
                    names.setdefault(norm(self.env_prefix + alias), spec)
                    names.setdefault(norm(alias), spec)
            cache[key] = names
        return names

    def _dirs(self) -> list[str]:
        value = self.secrets_dir
        if value is None:
            return []
        return (
            [os.fspath(value)]
            if isinstance(value, (str, os.PathLike))
            else [os.fspath(v) for v in value]
        )

    def layer(self, ctx: LoadContext) -> Layer:
        trees: list[Tree] = []
        problems: list[Problem] = []
        dirs = self._dirs()
        for directory in reversed(dirs):  # a later dir wins: highest first
            tree, found = self._read_dir(os.path.expanduser(directory))
            trees.append(tree)
            problems.extend(found)
        inputs = tuple(Input(d, "secrets dir", True) for d in dirs)
        reports = tuple(
            FileReport(d, True, "", "secrets dir")
            if os.path.isdir(os.path.expanduser(d))
            else FileReport(d, False, "not found, skipped", "secrets dir")
            for d in dirs
        )
        return Layer(self.name, merge(trees), problems, inputs, reports)

    def _read_dir(self, directory: str) -> tuple[Tree, list[Problem]]:
        tree: Tree = {}
        problems: list[Problem] = []
        root = Path(directory)
        try:
            entries = sorted(os.listdir(root))
        except FileNotFoundError:
            # The same image runs with and without mounted secrets: an absent dir is
            # skipped, and explain shows it (pydantic-settings warns instead).
            return tree, problems
        except NotADirectoryError:
            return tree, [Problem("", "secrets dir is not a directory", "secret", directory)]
        except OSError as exc:
            return tree, [
                Problem("", f"cannot list secrets dir: {exc.strerror}", "secret", directory)
            ]
        names = self._file_names()
        claimed: dict[tuple[str, ...], str] = {}
        if _debug():
            present = {e.lower() if not self.case_sensitive else e for e in entries}
            for name in names:
                if name not in present and len(names[name].path) == 1:
                    _logger().debug("Secret file not found, skipping: %s", (root / name).resolve())
        real_root = os.path.realpath(root)
        for entry in entries:
            if entry.startswith(".."):
                continue
            spec = names.get(entry if self.case_sensitive else entry.lower())
            if spec is None:
                continue
            path = root / entry
            location = str(path)
            if os.path.commonpath([real_root, os.path.realpath(path)]) != real_root:
                problems.append(
                    Problem(
                        spec.key, "secret file links outside the secrets dir", "secret", location
                    )
                )
                continue
            if path.is_dir():
                warnings.warn(
                    f'attempted to load secret file "{path}" but found a directory instead.',
                    stacklevel=caller_stacklevel(),
                )
                continue
            if spec.path in claimed:
                message = f"two secret files for one key: {claimed[spec.path]} and {location}"
                problems.append(Problem(spec.key, message, "secret", location))
                continue
            claimed[spec.path] = location
            if _debug():
                _logger().debug("Loading secret file: %s", path.resolve())
            try:
                text = read_secret_file(location)
            except FileReadError as exc:
                problems.append(
                    Problem(spec.key, str(exc).removeprefix(f"{location}: "), "secret", location)
                )
                continue
            value = self._decoded(spec, text, location, problems)
            if value is not _SKIP:
                _place_at(tree, spec.key_path, value, Origin("secret", location))
        return tree, problems

    def _decoded(
        self, spec: FieldSpec | ModelSpec, text: str, location: str, problems: list[Problem]
    ) -> Any:
        """A file's text as pydantic-settings reads it for the field (JSON for complex ones,
        unions holding one, and ``AliasPath`` heads), by pydantic-settings' own rules."""
        try:
            if len(spec.path) == 1:
                name = spec.path[0]
                info = self.settings_cls.model_fields[name]
                value_is_complex = any(c for _, _, c in self._extract_field_info(info, name))
                return self.prepare_field_value(name, info, text, value_is_complex)
            if isinstance(spec, FieldSpec) and spec.kind != "complex":
                return text
            info_or_none = spec.info if isinstance(spec, FieldSpec) else None
            return self.decode_complex_value(spec.path[-1], info_or_none, text)  # type: ignore[arg-type]
        except (ValueError, RecursionError):
            problems.append(Problem(spec.key, "not valid JSON", "secret", location))
            return _SKIP

    def __call__(self) -> dict[str, Any]:
        from envconf.load.tree import plain

        return plain(self.layer(LoadContext()).tree)


_SKIP: Any = object()


def _debug() -> bool:
    """Whether pydantic-settings' ``PYDANTIC_SETTINGS_DEBUG`` logging is on."""
    import logging

    from pydantic_settings.utils import _settings_debug_enabled

    return _settings_debug_enabled() and _logger().isEnabledFor(logging.DEBUG)


def _logger() -> Any:
    from pydantic_settings.utils import logger

    return logger


def _place_at(tree: Tree, path: tuple[str, ...], value: Any, origin: Origin) -> None:
    """Put a secret's value at its validation path; a JSON object spreads into leaves."""
    if isinstance(value, dict):
        for name, item in value.items():
            _place_at(tree, (*path, str(name)), item, origin)
        return
    set_leaf(tree, path, Leaf(value, origin, secret=True))
