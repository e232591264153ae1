"""pydantic's validation errors mapped back to the origins of the values that failed.

pydantic puts the offending input into its messages; envconf builds its own messages
from the error type and text only, and shows the raw input only when the key is not a
secret and the value did not come from a secret file. Every message is redacted again
when the :class:`~envconf.errors.ConfigError` is built (the one boundary).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from envconf.errors import Problem
from envconf.load.classinfo import ClassInfo
from envconf.load.model import ModelSpec
from envconf.load.tree import Leaf, Scalar, Tree, iter_leaves, node_at


def texts_of(value: Any) -> list[str]:
    """Every text inside a raw value (for the redactor): strings, secrets, scalars, items."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Scalar):
        return [value.text]
    getter = getattr(value, "get_secret_value", None)
    if callable(getter):
        secret = getter()
        return [secret.decode("utf-8", "replace") if isinstance(secret, bytes) else str(secret)]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return [text for item in value for text in texts_of(item)]
    return []


def leaf_at(tree: Tree, path: tuple[str, ...]) -> Leaf | None:
    """The leaf that decided the value at ``path``: the leaf itself or the nearest above."""
    node = node_at(tree, path)
    if node is None or isinstance(node, Leaf):
        return node
    first = next(iter_leaves(node), None)
    return first[1] if first else None


def _hint(info: ClassInfo, path: tuple[str, ...]) -> str:
    """How to set a missing key: its variable, its flag, its place in a config file."""
    field_path = info.spec.field_path(path)
    found = info.spec.find(field_path)
    if found is None:
        return ""
    if isinstance(found, ModelSpec):  # a required model: name its one required leaf
        required = [leaf for leaf in found.leaves() if leaf.required]
        if len(required) != 1:
            return ""
        found = required[0]
        field_path = found.path
    node = found
    flag = "--" + ".".join(p.replace("_", "-") for p in field_path)
    file_var = f", {node.env_name}{info.names.file_suffix}" if info.names.file_suffix else ""
    return f"; set {node.env_name}{file_var}, {flag} or '{'.'.join(field_path)}' in a config file"


def problems_from(error: ValidationError, tree: Tree, info: ClassInfo) -> list[Problem]:
    """Translate pydantic errors into located problems (redacted later, at the boundary)."""
    problems: list[Problem] = []
    for item in error.errors(include_input=False, include_url=False, include_context=False):
        loc = tuple(str(p) for p in item["loc"])
        key = ".".join(info.spec.field_path(loc)) if loc else ""
        leaf = leaf_at(tree, loc) if loc else None
        message = str(item["msg"])
        if item["type"] == "missing" and leaf is None:
            problems.append(Problem(key, "required, not set" + _hint(info, loc)))
            continue
        if leaf is None:
            problems.append(Problem(key, message))
            continue
        secret = leaf.secret or any(loc[: len(k)] == k for k in info.secret_keys)
        value = None if secret else _shown(leaf.value)
        if leaf.via:  # the text was not written in the file: say where it came from
            message += " (the value came from " + ", ".join(f"${{{v}}}" for v in leaf.via) + ")"
        problems.append(Problem(key, message, leaf.source, leaf.location, value))
    return problems


def _shown(value: Any) -> str | None:
    """The raw input as text, for messages (whole: shortened only after redaction)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Scalar):
        return value.text
    return None


def unreported(found: list[Problem], reported: list[Problem]) -> list[Problem]:
    """Drop validation problems for keys a source already reported (one cause, one line)."""
    keys = {p.key for p in reported if p.key}
    return [p for p in found if not any(p.key == k or p.key.startswith(k + ".") for k in keys)]
