"""Where every value came from: the load report, :func:`explain` and ``envconf explain``.

Not named ``explain.py``: importing a submodule ``envconf.explain`` would replace the
public function ``envconf.explain`` with the module.
"""

from __future__ import annotations

import enum
import functools
import json
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretBytes, SecretStr

from envconf.load.classinfo import DEFAULT_SECRETS_DIR, ClassInfo
from envconf.load.model import FieldSpec
from envconf.load.source import FileReport, Input
from envconf.load.tree import Leaf, Scalar, Tree, iter_leaves, node_at
from envconf.origin import Origin
from envconf.redact import MASK, Redactor

if TYPE_CHECKING:
    from envconf.settings import Settings

_DEFAULT = Origin("default", "default")


class LoadReport:
    """How a settings object was loaded: layers in order, files considered, origins.

    Origins are built on first use (``explain``), not at every load.
    """

    def __init__(
        self,
        precedence: tuple[str, ...],
        files: tuple[FileReport, ...],
        inputs: tuple[Input, ...],
        tree: Tree,
        info: ClassInfo,
    ) -> None:
        self.precedence = precedence
        self.files = files
        self.inputs = inputs
        self.tree = tree
        self.info = info

    def __eq__(self, other: object) -> bool:
        # Where values came from is not part of the value: two settings objects with equal
        # fields are equal (as in pydantic-settings), however each was loaded.
        return other is None or isinstance(other, LoadReport)

    __hash__ = None  # type: ignore[assignment]

    @functools.cached_property
    def origins(self) -> dict[str, Origin]:
        """The :class:`Origin` of every leaf key, defaults included."""
        ranks = {name: at for at, name in enumerate(self.precedence)}
        return {leaf.key: origin_of(self.tree, leaf, ranks) for leaf in self.info.spec.leaves()}

    @functools.cached_property
    def secret_paths(self) -> frozenset[tuple[str, ...]]:
        """Field paths whose value came from a secret file (hidden whatever their type)."""
        found: set[tuple[str, ...]] = set()
        for leaf in self.info.spec.leaves():
            node = node_at(self.tree, leaf.key_path)
            leaves = (
                [node]
                if isinstance(node, Leaf)
                else [x for _, x in iter_leaves(node)]
                if node
                else []
            )
            if any(x.secret for x in leaves):
                found.add(leaf.path)
        return frozenset(found)


def origin_of(tree: Tree, leaf: FieldSpec, ranks: dict[str, int]) -> Origin:
    """The origin of one leaf field: its value's, a mapping's summary, or its default."""
    tail: tuple[Origin, ...] = () if leaf.required else (_DEFAULT,)
    node = node_at(tree, leaf.key_path)
    if isinstance(node, Leaf):
        return node.origin._replace(overridden=(*node.origin.overridden, *tail))
    if not node:
        return _DEFAULT
    # A mapping merged from several places: its entries are siblings, not rivals, so
    # only what they overrode counts as overridden.
    # The top entry: from the highest layer and, within it, one that overrode another
    # (a later file's entry over an earlier file's).
    entries = sorted(
        (x for _, x in iter_leaves(node)),
        key=lambda x: (ranks.get(x.source, len(ranks)), -len(x.origin.overridden)),
    )
    top = entries[0].origin
    seen = {(top.source, top.location)}
    beaten: list[Origin] = []
    for entry in entries:
        for other in entry.origin.overridden:
            if (other.source, other.location) not in seen:
                seen.add((other.source, other.location))
                beaten.append(other)
    beaten.sort(key=lambda o: ranks.get(o.source, len(ranks)))
    return Origin(top.source, top.location, (*beaten, *tail))


def _report(settings: Settings) -> LoadReport:
    report = settings._envconf_report
    if report is None:
        raise TypeError("settings were not loaded by envconf (use Settings.load() or Settings())")
    return report


def explain(settings: Settings) -> dict[str, Origin]:
    """Return the origin of every leaf field, keyed by dotted path (``"db.port"``)."""
    return dict(_report(settings).origins)


def leaf_value(settings: BaseModel, path: tuple[str, ...]) -> Any:
    """The value of the field at ``path`` (field names) in a settings object."""
    value: Any = settings
    for part in path:
        value = getattr(value, part, None)
    return value


def display_value(value: Any, secret: bool) -> Any:
    """A JSON-friendly value for reports; secrets are masked."""
    if secret or isinstance(value, (SecretStr, SecretBytes)):
        return MASK if value is not None else None
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    from pydantic import TypeAdapter

    try:
        return TypeAdapter(Any).dump_python(value, mode="json")
    except Exception:
        return str(value)


def secret_values(settings: Settings) -> list[str]:
    """The text of every secret in a loaded settings object (for redacting render errors)."""
    from envconf.load.validate import texts_of

    report = _report(settings)
    texts: list[str] = []
    for leaf in report.info.spec.leaves():
        if leaf.secret or leaf.path in report.secret_paths:
            texts.extend(texts_of(leaf_value(settings, leaf.path)))
    return texts


def explain_data(settings: Settings) -> dict[str, Any]:
    """The ``envconf explain --format json`` document."""
    report = _report(settings)
    keys = []
    for leaf in report.info.spec.leaves():
        origin = report.origins[leaf.key]
        secret = leaf.secret or leaf.path in report.secret_paths
        keys.append(
            {
                "key": leaf.key,
                "value": display_value(leaf_value(settings, leaf.path), secret),
                **origin.to_dict(),
            }
        )
    return {
        "precedence": list(report.precedence),
        "files": [_file(f) for f in report.files if f.what == "config file"],
        "keys": keys,
    }


def loaded_data(report: LoadReport, redactor: Redactor | None = None) -> dict[str, Any]:
    """The ``explain`` document of a load that failed: each value as loaded, unvalidated.

    ``envconf explain`` prints it above the problems, so an operator sees what did load.
    A key that nothing set shows its default, or ``null`` with source ``(not set)`` when it
    is required. Secrets are masked as in :func:`explain_data`, and every other text
    passes through the failed load's redactor.
    """
    keys = []
    for leaf in report.info.spec.leaves():
        secret = leaf.secret or leaf.path in report.secret_paths
        node = node_at(report.tree, leaf.key_path)
        origin = report.origins[leaf.key]
        if node is None and leaf.required:
            value: Any = None
            origin = Origin("(not set)", "(not set)")
        elif node is None:
            value = display_value(leaf.default, secret)
        else:
            value = MASK if secret else _raw(node)
        if redactor is not None and value != MASK:
            value = _redacted(value, redactor)
        keys.append({"key": leaf.key, "value": value, **origin.to_dict()})
    return {
        "precedence": list(report.precedence),
        "files": [_file(f) for f in report.files if f.what == "config file"],
        "keys": keys,
    }


def _redacted(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return redactor(value)
    if isinstance(value, list):
        return [_redacted(item, redactor) for item in value]
    if isinstance(value, dict):
        return {key: _redacted(item, redactor) for key, item in value.items()}
    return value


def _raw(node: Tree | Leaf) -> Any:
    """A raw value as a source gave it (a YAML scalar as written), JSON-friendly."""
    if isinstance(node, dict):
        return {key: _raw(child) for key, child in node.items()}
    value = node.value
    if isinstance(value, Scalar):
        return value.text
    if isinstance(value, list):
        return [item.text if isinstance(item, Scalar) else item for item in value]
    return display_value(value, False)


def _file(report: FileReport) -> dict[str, Any]:
    return {
        "path": report.path,
        "loaded": report.loaded,
        **({"note": report.note} if report.note else {}),
    }


def explain_table(settings: Settings) -> str:
    """The human-readable ``envconf explain`` table (a missing secrets dir named as well)."""
    missing = [
        f"secrets dir: {f.path}  (not found, skipped)"
        for f in _report(settings).files
        if f.what == "secrets dir" and not f.loaded and f.path != DEFAULT_SECRETS_DIR
    ]
    return table_of(explain_data(settings), missing)


def table_of(doc: dict[str, Any], notes: list[str] | None = None) -> str:
    """Render an ``explain`` document as the table people read."""
    lines = ["precedence (highest first): " + " > ".join(doc["precedence"])]
    if doc["files"]:
        lines.append("config files:")
        for f in doc["files"]:
            state = "loaded" if f["loaded"] else f.get("note") or "not loaded"
            lines.append(f"  {f['path']}  ({state})")
    else:
        lines.append("config files: none")
    lines.extend(notes or [])
    rows = [("KEY", "VALUE", "SOURCE", "LOCATION", "OVERRIDDEN")]
    for item in doc["keys"]:
        beaten = ", ".join(
            o["location"] if o["location"] == o["source"] else f"{o['location']} ({o['source']})"
            for o in item["overridden"]
        )
        value = item["value"]
        text = (
            value
            if isinstance(value, str) and value == MASK
            else json.dumps(value, ensure_ascii=False)
        )
        rows.append((item["key"], text, item["source"], item["location"], beaten or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines.append("")
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(4)]
        lines.append("  ".join([*cells, row[4]]).rstrip())
    return "\n".join(lines) + "\n"
