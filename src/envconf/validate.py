"""pydantic's validation errors mapped back to the origins of the values that failed.

pydantic puts the offending input into its messages; envconf builds its own messages
from the error type and text only, and shows the raw input only when the key is not a
secret and the value did not come from a secret file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import SecretBytes, SecretStr, ValidationError

from envconf.errors import Problem
from envconf.model_info import ModelSpec, holds_secret
from envconf.shape import Provenance

# Up to the last "@" of the word: a password may itself hold "@" or "/" (over-redacting
# the rest of a URL is the safe way to be wrong).
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)\S*@")


def redact(text: str) -> str:
    """Hide the password of any URL with user info (``postgres://u:pw@h`` -> ``u:***@h``)."""
    return _URL_PASSWORD.sub(r"\g<head>***@", text)


def _hint(spec: ModelSpec, path: tuple[str, ...]) -> str:
    node = spec.find(path)
    if node is None:
        return ""
    flag = "--" + ".".join(p.replace("_", "-") for p in path)
    return f"; set {node.env_name}, {flag} or '{'.'.join(path)}' in a config file"


def problems_from(
    error: ValidationError, spec: ModelSpec, provenance: dict[tuple[str, ...], Provenance]
) -> list[Problem]:
    """Translate pydantic errors into located, secret-free problems."""
    problems: list[Problem] = []
    secret_paths = {leaf.path for leaf in spec.leaves() if holds_secret(leaf.annotation)}
    secrets = _secret_texts(provenance, secret_paths)
    for item in error.errors(include_input=False, include_url=False, include_context=False):
        loc = tuple(str(p) for p in item["loc"])
        found: Provenance | None = None
        prefix = loc
        while prefix:
            found = provenance.get(prefix)
            if found is not None:
                break
            prefix = prefix[:-1]
        key = ".".join(loc)
        message = _scrub(str(item["msg"]), secrets)
        if item["type"] == "missing" and found is None:
            problems.append(Problem(key, "required, not set" + _hint(spec, loc)))
            continue
        if found is None:
            problems.append(Problem(key, message))
            continue
        leaf = found.leaf
        secret = (
            leaf.secret_file
            or any(loc[: len(p)] == p for p in secret_paths)
            or (found.spec is not None and found.spec.secret)
        )
        value = None if secret else _shown(leaf.value)
        problems.append(Problem(key, message, leaf.source, leaf.location, value))
    return problems


def hide_secrets(
    problems: list[Problem],
    spec: ModelSpec,
    provenance: dict[tuple[str, ...], Provenance],
    more: Iterable[str] = (),
) -> list[Problem]:
    """Scrub every secret input from ``problems``: the last net before they are raised.

    Sources build messages from what they read (a ``:?`` message, a template error);
    any secret among the inputs, winning or beaten, and ``more`` texts are hidden.
    """
    secret_paths = {leaf.path for leaf in spec.leaves() if holds_secret(leaf.annotation)}
    found = set(_secret_texts(provenance, secret_paths))
    found.update(text for text in more if len(text) >= _MIN_SCRUB)
    secrets = sorted(found, key=len, reverse=True)
    if not secrets:
        return problems
    out: list[Problem] = []
    for problem in problems:
        message = _scrub(problem.message, secrets)
        value = None if problem.value is None else _scrub(problem.value, secrets)
        if (message, value) != (problem.message, problem.value):
            problem = problem._replace(message=message, value=value)
        out.append(problem)
    return out


#: Too short to scrub without mangling the message itself ("at least 1 character").
_MIN_SCRUB = 4


def _secret_texts(
    provenance: dict[tuple[str, ...], Provenance], secret_paths: set[tuple[str, ...]]
) -> list[str]:
    """Every secret input text, longest first (a custom validator may echo its input)."""
    texts: set[str] = set()
    for path, found in provenance.items():
        secret_key = any(path[: len(p)] == p for p in secret_paths)
        for leaf in (found.leaf, *found.beaten):
            if secret_key or leaf.secret_file:
                texts.update(_texts(leaf.value))
    return sorted((t for t in texts if len(t) >= _MIN_SCRUB), key=len, reverse=True)


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (SecretStr, SecretBytes)):
        secret = value.get_secret_value()
        return [secret if isinstance(secret, str) else secret.decode("utf-8", "replace")]
    if hasattr(value, "text") and isinstance(value.text, str):
        return [value.text]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in _texts(item)]
    return []


def _scrub(message: str, secrets: list[str]) -> str:
    for text in secrets:
        message = message.replace(text, "**********")
    return message


def _shown(value: Any) -> str | None:
    """The raw input as text, for messages (redacted; long values shortened)."""
    if isinstance(value, str):
        text = value
    elif hasattr(value, "text"):
        text = value.text
    else:
        return None
    text = redact(text)
    return text if len(text) <= 80 else text[:77] + "..."
