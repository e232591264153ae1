"""Compare the effective configuration of two loads key by key (``envconf diff``).

Pure functions over two loaded settings objects: :func:`compare` pairs every key with
both values and both origins, and :func:`diff_data`, :func:`diff_text` and
:func:`diff_markdown` write the result. How each side is loaded is
:mod:`envconf.tools.sides`.

Secrets are compared, never shown. Every value is reduced to an HMAC-SHA256
*fingerprint* under a key drawn at random for each comparison and then dropped
(:func:`new_key`); two values are the same when their fingerprints are. Fingerprints are
never written out either: an unsalted hash of a short password is reversed by trying
every candidate, and even a keyed one that stayed the same from run to run would tell a
reader when a password came back to an old value. The output says ``same`` or
``differs``, and the value is ``**********`` on both sides when either side's value is
a secret (a secret field, or a value read from a secret file). Every text written passes
a :class:`~envconf.redact.Redactor` holding both sides' secrets last of all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import BaseModel, SecretBytes, SecretStr

from envconf.load.report import display_value, leaf_value, secret_values
from envconf.load.tree import Leaf, Scalar, node_at
from envconf.origin import Origin
from envconf.redact import MASK, Redactor

if TYPE_CHECKING:
    from envconf.settings import Settings

SAME = "same"
DIFFERS = "differs"
LEFT_ONLY = "left only"
RIGHT_ONLY = "right only"


class Side(NamedTuple):
    """One loaded side of a comparison.

    ``label`` heads its column (``staging``); ``description`` says how it was selected
    (``--profile staging``); ``env_file`` maps each variable an ``--env-file`` gave this
    side to its ``file:line``, so an origin ``APP_PORT (env)`` can say where it was set.
    """

    label: str
    description: str
    settings: Settings
    env_file: Mapping[str, str] = {}


class Entry(NamedTuple):
    """One key's value on one side, as the diff may show it (masked when secret)."""

    value: Any
    origin: Origin
    fingerprint: bytes
    secret: bool
    env_file: str = ""


class KeyDiff(NamedTuple):
    """One key on both sides; ``status``: ``same``, ``differs``, ``left only``, ``right only``."""

    key: str
    status: str
    secret: bool
    left: Entry | None
    right: Entry | None


class SideInfo(NamedTuple):
    """What a report says about a side besides its keys."""

    label: str
    description: str
    precedence: tuple[str, ...]
    files: tuple[tuple[str, bool], ...]


class Diff(NamedTuple):
    """Two sides compared key by key, in the settings' declaration order."""

    left: SideInfo
    right: SideInfo
    keys: tuple[KeyDiff, ...]
    redactor: Redactor

    @property
    def differing(self) -> tuple[KeyDiff, ...]:
        """The keys whose value is not the same on both sides."""
        return tuple(k for k in self.keys if k.status != SAME)

    @property
    def equal(self) -> bool:
        """Whether every key has the same value on both sides."""
        return not self.differing


def new_key() -> bytes:
    """A fresh random HMAC key: fingerprints from one run say nothing about another's."""
    return secrets.token_bytes(32)


def plain(value: Any) -> Any:
    """``value`` as JSON-friendly data with every secret's real text (for fingerprints only)."""
    if isinstance(value, SecretStr):
        return {"secret": value.get_secret_value()}
    if isinstance(value, SecretBytes):
        return {"secret-bytes": value.get_secret_value().hex()}
    if isinstance(value, Scalar):
        return value.text
    if isinstance(value, BaseModel):
        return {name: plain(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return display_value(value, secret=False)


def fingerprint(value: Any, key: bytes) -> bytes:
    """The HMAC-SHA256 of ``value``'s canonical JSON under ``key``."""
    text = json.dumps(plain(value), sort_keys=True, ensure_ascii=False, default=repr)
    return hmac.new(key, text.encode("utf-8", "backslashreplace"), hashlib.sha256).digest()


def _env_location(origin: Origin, env_file: Mapping[str, str]) -> str:
    """The ``file:line`` of the env-file variable an ``env`` origin names, if any."""
    if origin.source != "env":
        return ""
    name = origin.location
    if name.endswith(")") and "(via " in name:
        name = name[name.rindex("(via ") + 5 : -1]
    return env_file.get(name, "")


def side_entries(side: Side, key: bytes) -> dict[str, Entry]:
    """Every leaf key of a loaded side (and extra keys an ``extra="allow"`` model kept)."""
    report = side.settings._envconf_report
    if report is None:
        raise TypeError("settings were not loaded by envconf (use Settings.load() or Settings())")
    found: dict[str, Entry] = {}
    for leaf in report.info.spec.leaves():
        value = leaf_value(side.settings, leaf.path)
        secret = (
            leaf.secret
            or leaf.path in report.secret_paths
            or leaf.key_path in report.info.secret_keys
        )
        origin = report.origins[leaf.key]
        found[leaf.key] = Entry(
            display_value(value, secret),
            origin,
            fingerprint(value, key),
            secret,
            _env_location(origin, side.env_file),
        )
    for name, value in (side.settings.model_extra or {}).items():
        node = node_at(report.tree, (name,))
        origin = node.origin if isinstance(node, Leaf) else Origin("extra", name)
        secret = isinstance(node, Leaf) and node.secret
        shown = display_value(plain(value), secret)
        found.setdefault(
            name,
            Entry(
                shown, origin, fingerprint(value, key), secret, _env_location(origin, side.env_file)
            ),
        )
    return found


def _info(side: Side) -> SideInfo:
    report = side.settings._envconf_report
    precedence = report.precedence if report else ()
    files = tuple(
        (f.path, f.loaded) for f in (report.files if report else ()) if f.what == "config file"
    )
    return SideInfo(side.label, side.description, precedence, files)


def _masked(entry: Entry | None) -> Entry | None:
    if entry is None or entry.value is None:
        return entry
    return entry._replace(value=MASK, secret=True)


def compare(left: Side, right: Side, key: bytes | None = None) -> Diff:
    """Compare two loaded sides key by key.

    Args:
        left: the first side (its keys' order is the output's order).
        right: the second side.
        key: the HMAC key for fingerprints; a fresh random one when ``None``.

    Returns:
        Every key with its status; a key secret on either side is masked on both.
    """
    key = new_key() if key is None else key
    lefts, rights = side_entries(left, key), side_entries(right, key)
    keys: list[KeyDiff] = []
    for name in [*lefts, *(k for k in rights if k not in lefts)]:
        a, b = lefts.get(name), rights.get(name)
        if a is None or b is None:
            status = RIGHT_ONLY if a is None else LEFT_ONLY
        else:
            status = SAME if hmac.compare_digest(a.fingerprint, b.fingerprint) else DIFFERS
        secret = bool((a and a.secret) or (b and b.secret))
        if secret:
            a, b = _masked(a), _masked(b)
        keys.append(KeyDiff(name, status, secret, a, b))
    redactor = Redactor([*secret_values(left.settings), *secret_values(right.settings)])
    return Diff(_info(left), _info(right), tuple(keys), redactor)


# --- output -------------------------------------------------------------------------------


def _shown(diff: Diff, show_all: bool) -> tuple[KeyDiff, ...]:
    return diff.keys if show_all else diff.differing


def _summary(diff: Diff) -> str:
    count, total = len(diff.differing), len(diff.keys)
    if not count:
        return f"no differences ({total} keys compared)"
    return f"{count} of {total} keys differ"


def _entry_data(entry: Entry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    data: dict[str, Any] = {"value": entry.value, **entry.origin.to_dict()}
    if entry.env_file:
        data["env_file"] = entry.env_file
    return data


def _side_data(info: SideInfo) -> dict[str, Any]:
    return {
        "label": info.label,
        "selected_by": info.description,
        "precedence": list(info.precedence),
        "files": [{"path": p, "loaded": loaded} for p, loaded in info.files],
    }


def diff_data(diff: Diff, show_all: bool = False) -> dict[str, Any]:
    """The ``envconf diff --format json`` document (see docs/cli.md for its shape)."""
    return {
        "equal": diff.equal,
        "compared": len(diff.keys),
        "differing": len(diff.differing),
        "left": _side_data(diff.left),
        "right": _side_data(diff.right),
        "keys": [
            {
                "key": k.key,
                "status": k.status,
                "secret": k.secret,
                "left": _entry_data(k.left),
                "right": _entry_data(k.right),
            }
            for k in _shown(diff, show_all)
        ],
    }


def diff_json(diff: Diff, show_all: bool = False) -> str:
    """The JSON document as text, redacted."""
    text = json.dumps(diff_data(diff, show_all), indent=2, ensure_ascii=False) + "\n"
    return diff.redactor(text)


def _value_text(entry: Entry | None) -> str:
    if entry is None:
        return "(absent)"
    if entry.value == MASK and entry.secret:
        return MASK
    return json.dumps(entry.value, ensure_ascii=False)


def _origin_text(entry: Entry | None) -> str:
    if entry is None:
        return ""
    text = str(Origin(entry.origin.source, entry.origin.location))
    return f"{text} from {entry.env_file}" if entry.env_file else text


def _files_text(info: SideInfo) -> str:
    loaded = [path for path, ok in info.files if ok]
    return "config files: " + (", ".join(loaded) if loaded else "none")


def _headings(diff: Diff) -> tuple[str, str]:
    """Column headings: the sides' labels, or ``left``/``right`` when those would not tell."""
    left, right = diff.left.label, diff.right.label
    if not left or not right or left == right:
        return "left", "right"
    return left, right


def diff_text(diff: Diff, show_all: bool = False) -> str:
    """The ``envconf diff`` table: per key a value line and an origin line, then a summary."""
    lines = [
        f"left:  {diff.left.description}  ({_files_text(diff.left)})",
        f"right: {diff.right.description}  ({_files_text(diff.right)})",
        "",
    ]
    shown = _shown(diff, show_all)
    if shown:
        left, right = _headings(diff)
        rows = [("KEY", "STATUS", left, right)]
        for k in shown:
            rows.append((k.key, k.status, _value_text(k.left), _value_text(k.right)))
            rows.append(("", "", _origin_text(k.left), _origin_text(k.right)))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            cells = [row[i].ljust(widths[i]) for i in range(3)]
            lines.append("  ".join([*cells, row[3]]).rstrip())
        lines.append("")
    lines.append(_summary(diff) + ".")
    return diff.redactor("\n".join(lines) + "\n")


def _code(text: str) -> str:
    """``text`` as a Markdown code span that is safe inside a table cell."""
    text = text.replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(entry: Entry | None) -> str:
    if entry is None:
        return "*(absent)*"
    origin = _code(entry.origin.location)
    if entry.origin.location != entry.origin.source:
        origin += f" ({entry.origin.source})"
    if entry.env_file:
        origin += f" from {_code(entry.env_file)}"
    return f"{_code(_value_text(entry))}<br>{origin}"


def diff_markdown(diff: Diff, show_all: bool = False) -> str:
    """The ``envconf diff`` report as Markdown (a pull-request comment)."""
    left, right = _headings(diff)
    lines = [
        f"### envconf diff: {_code(left)} and {_code(right)}",
        "",
        f"**{_summary(diff)}.**",
        "",
        "| side | selected by | config files |",
        "| --- | --- | --- |",
    ]
    for name, info in (("left", diff.left), ("right", diff.right)):
        files = ", ".join(_code(p) for p, ok in info.files if ok) or "none"
        lines.append(f"| {name} | {_code(info.description)} | {files} |")
    shown = _shown(diff, show_all)
    if shown:
        lines += ["", f"| key | status | {_cell_text(left)} | {_cell_text(right)} |"]
        lines.append("| --- | --- | --- | --- |")
        for k in shown:
            lines.append(f"| {_code(k.key)} | {k.status} | {_cell(k.left)} | {_cell(k.right)} |")
    return diff.redactor("\n".join(lines) + "\n")


def _cell_text(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
