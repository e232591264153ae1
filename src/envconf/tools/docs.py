"""Reference documentation generated from a settings class (``envconf docs`` / ``dotenv``).

Output is deterministic (declaration order, no timestamps) so teams can commit it and
review diffs. Secrets' defaults are never printed.
"""

from __future__ import annotations

from typing import Any

from envconf.load.classinfo import ClassInfo, as_paths, class_info
from envconf.load.describe import format_default, type_label
from envconf.load.model import FieldSpec, is_sequence

_LAYER_HOWTO = {
    "cli": "command-line flags after the app's name: `{flag} VALUE`, `{flag}=VALUE`; booleans "
    "as `--flag` / `--no-flag`; lists repeated or as JSON",
    "env": "environment variables `{env}`; `{env}{suffix}=/path` reads the value from a file",
    "dotenv": "a `.env` file ({env_files}) in python-dotenv syntax",
    "secret": "one file per key in `{secrets_dir}`, named like the variable with or without "
    "the prefix, e.g. `{secret_name}`",
    "file": "config files (YAML, TOML, JSON, .env; `*.j2` rendered with Jinja2 first): "
    "`--config FILE`, else `{config_env}` (comma-separated), else {config_files}; "
    "`{profile_env}=NAME` adds `name.NAME.ext` after each file",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _example(state: ClassInfo) -> FieldSpec | None:
    leaves = state.spec.leaves()
    nested = [leaf for leaf in leaves if len(leaf.path) > 1]
    pool = nested or leaves
    return pool[0] if pool else None


def _howto(cls: type[Any], state: ClassInfo, layer: str) -> str:
    sample = _example(state)
    files = ", ".join(f"`{f}`" for f in state.config_files) or "no default files"
    values: dict[str, Any] = {
        "flag": sample.cli_flag if sample else "--key",
        "env": sample.env_name if sample else "KEY",
        "suffix": state.names.file_suffix,
        "env_files": ", ".join(f"`{f}`" for f in as_paths(cls.model_config.get("env_file")))
        or "not configured",
        "secrets_dir": "`, `".join(as_paths(cls.model_config.get("secrets_dir")))
        or "(no secrets dir)",
        "secret_name": (sample.env_name[len(state.names.prefix) :].lower() if sample else "key"),
        "config_env": state.config_env,
        "config_files": files,
        "profile_env": state.profile_env,
    }
    return _LAYER_HOWTO[layer].format(**values)


def markdown_reference(cls: type[Any]) -> str:
    """Return the Markdown reference for a settings class."""
    state = class_info(cls)
    title = cls.__name__
    lines = [f"# {title} configuration reference", ""]
    doc = (cls.__doc__ or "").strip()
    if doc:
        lines += [" ".join(doc.split()), ""]
    lines += [
        "## Precedence",
        "",
        "Highest first; a higher layer overrides a lower one key by key.",
        "",
    ]
    lines += ["| rank | layer | how to set it |", "| --- | --- | --- |"]
    lines.append("| 1 | `init` | keyword arguments in code (`" + title + "(key=...)`) |")
    for rank, layer in enumerate(state.precedence, start=2):
        lines.append(f"| {rank} | `{layer}` | {_cell(_howto(cls, state, layer))} |")
    lines.append(f"| {len(state.precedence) + 2} | `default` | the defaults below |")
    lines += ["", "## Keys", ""]
    lines += [
        "| key | type | default | env var | CLI flag | secret | description |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for leaf in state.spec.leaves():
        flag = leaf.cli_flag + (f" / --no-{leaf.cli_flag[2:]}" if leaf.kind == "bool" else "")
        lines.append(
            "| "
            + " | ".join(
                [
                    f"`{leaf.key}`",
                    _cell(f"`{type_label(leaf.annotation)}`"),
                    _cell(f"`{format_default(leaf)}`"),
                    f"`{leaf.env_name}`",
                    f"`{flag}`",
                    "yes" if leaf.secret else "no",
                    _cell(leaf.description or ""),
                ]
            )
            + " |"
        )
    lines.append("")
    return "\n".join(lines)


def _dotenv_default(leaf: FieldSpec) -> str:
    if leaf.required or leaf.secret or leaf.default is None:
        return ""
    text = format_default(leaf)
    if isinstance(leaf.default, str):
        text = leaf.default
    if leaf.kind == "complex" or is_sequence(leaf.annotation):
        import json

        from pydantic import TypeAdapter

        default = leaf.default
        if isinstance(default, (set, frozenset)):
            default = sorted(default, key=repr)  # stable across PYTHONHASHSEED
        text = json.dumps(TypeAdapter(Any).dump_python(default, mode="json"))
    if leaf.kind == "bool":
        text = "true" if leaf.default else "false"
    if any(c in text for c in " #'\"$\\") or text == "":
        text = (
            "'" + text.replace("'", "") + "'"
            if "'" not in text
            else '"' + text.replace('"', '\\"') + '"'
        )
    return text


def dotenv_example(cls: type[Any]) -> str:
    """Return a commented ``.env.example``: every key's variable, default and description."""
    state = class_info(cls)
    lines = [
        f"# .env.example for {cls.__name__} (generated by `envconf dotenv`)",
        "# Uncomment and set what you need. Secrets: prefer NAME"
        + state.names.file_suffix
        + "=/run/secrets/name.",
        "",
    ]
    for leaf in state.spec.leaves():
        if leaf.description:
            lines.append(f"# {leaf.description}")
        detail = f"# {leaf.key}: {type_label(leaf.annotation)}"
        if leaf.required:
            # Commented out like every other line: an uncommented empty value would be a
            # value (an empty password overriding the config file), and check would pass.
            detail += ", required: set it here, in the environment or in a config file"
        if leaf.secret:
            detail += ", secret"
        lines.append(detail)
        value = _dotenv_default(leaf)
        lines.append(f"# {leaf.env_name}={value}")
        lines.append("")
    return "\n".join(lines)
