"""The ``secret`` layer: one file per key in ``secrets_dir`` (Docker/Swarm/Kubernetes)."""

from __future__ import annotations

import os
from pathlib import Path

from envconf.errors import Problem
from envconf.model_info import FieldSpec
from envconf.secretfile import SecretFileError, read_secret_file
from envconf.sources.names import NameIndex
from envconf.sources.variables import set_leaf
from envconf.tree import Leaf, Tree


def _file_names(index: NameIndex) -> dict[str, FieldSpec]:
    """Lower-cased file names that belong to each leaf key, with and without prefix."""
    names: dict[str, FieldSpec] = {}
    for table in (index.by_name, index.unprefixed):
        for name, spec in table.items():
            if isinstance(spec, FieldSpec):
                names[name.lower()] = spec
    return names


def secrets_layer(secrets_dir: str | None, index: NameIndex) -> tuple[Tree, list[Problem]]:
    """Read every file in ``secrets_dir`` that names a key; skip the dir when absent.

    Files that name no key are left alone (the dir is shared with other programs).

    Entries starting with ``..`` are Kubernetes' swap links, not keys. A link whose
    target leaves the directory, or two files naming one key, is a problem.
    """
    tree: Tree = {}
    problems: list[Problem] = []
    if not secrets_dir:
        return tree, problems
    root = Path(secrets_dir)
    try:
        entries = sorted(os.listdir(root))
    except FileNotFoundError:
        return tree, problems
    except NotADirectoryError:
        return tree, [Problem("", "secrets dir is not a directory", "secret", str(root))]
    except OSError as exc:
        return tree, [Problem("", f"cannot list secrets dir: {exc.strerror}", "secret", str(root))]
    names = _file_names(index)
    claimed: dict[tuple[str, ...], str] = {}
    real_root = os.path.realpath(root)
    for entry in entries:
        if entry.startswith(".."):
            continue
        spec = names.get(entry.lower())
        if spec is None:
            continue
        path = root / entry
        location = str(path)
        real = os.path.realpath(path)
        if os.path.commonpath([real_root, real]) != real_root:
            problems.append(
                Problem(spec.key, "secret file links outside the secrets dir", "secret", location)
            )
            continue
        if spec.path in claimed:
            problems.append(
                Problem(
                    spec.key,
                    f"two secret files for one key: {claimed[spec.path]} and {location}",
                    "secret",
                    location,
                )
            )
            continue
        claimed[spec.path] = location
        try:
            text = read_secret_file(str(path))
        except SecretFileError as exc:
            problems.append(Problem(spec.key, str(exc), "secret", location))
            continue
        set_leaf(tree, spec.path, Leaf(text, "secret", location, secret_file=True))
    return tree, problems
