"""Where every value came from: :func:`explain` and the ``envconf explain`` report.

Not named ``explain.py``: importing a submodule ``envconf.explain`` would replace the
public function ``envconf.explain`` with the module.
"""

from __future__ import annotations

import enum
import json
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

from envconf.origin import Origin
from envconf.settings import LoadReport, Settings, class_state

MASK = "**********"


def _report(settings: Settings) -> LoadReport:
    report = settings._envconf_report
    if report is None:
        raise TypeError("settings were not loaded by envconf (use Settings.load() or Settings())")
    return report


def explain(settings: Settings) -> dict[str, Origin]:
    """Return the origin of every leaf field, keyed by dotted path (``"db.port"``)."""
    return dict(_report(settings).origins)


def _leaf_value(settings: BaseModel, path: tuple[str, ...]) -> Any:
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
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        from pydantic import TypeAdapter

        return TypeAdapter(Any).dump_python(value, mode="json")


def explain_data(settings: Settings) -> dict[str, Any]:
    """The ``envconf explain --format json`` document."""
    report = _report(settings)
    state = class_state(type(settings))
    keys = []
    for leaf in state.spec.leaves():
        origin = report.origins[leaf.key]
        keys.append(
            {
                "key": leaf.key,
                "value": display_value(_leaf_value(settings, leaf.path), leaf.secret),
                **origin.to_dict(),
            }
        )
    return {
        "precedence": list(report.precedence),
        "files": [{"path": f.path, "loaded": f.loaded} for f in report.files],
        "keys": keys,
    }


def explain_table(settings: Settings) -> str:
    """The human-readable ``envconf explain`` table."""
    doc = explain_data(settings)
    lines = ["precedence (highest first): init > " + " > ".join(doc["precedence"]) + " > default"]
    if doc["files"]:
        lines.append("config files:")
        for f in doc["files"]:
            lines.append(f"  {f['path']}  ({'loaded' if f['loaded'] else 'not found, skipped'})")
    else:
        lines.append("config files: none")
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
