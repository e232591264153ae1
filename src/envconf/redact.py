"""The one redaction boundary: every text envconf shows passes through a :class:`Redactor`.

Messages, reports, log lines and exception texts are built first and redacted last,
*before* anything is shortened: a value cut to fit a line no longer matches the secret it
came from. Nothing is imported at module level (``re`` only once a text holds a URL), so
``envconf render`` stays at the interpreter's floor.
"""

from __future__ import annotations

from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    import re
    from collections.abc import Iterable

__all__ = ["MASK", "MIN_SECRET", "Redactor", "mask_url_passwords", "shorten"]

MASK = "**********"
#: Shorter secrets cannot be told apart from ordinary words of a message.
MIN_SECRET = 4
#: Lines of a multi-line secret at least this long are hidden on their own too (a parser
#: error may quote one line of a PEM key).
_MIN_LINE = 8

# The password of a URL with user info, up to the *last* "@" of the word: a password may
# itself hold "@" or "/" (masking too much of a URL is the safe way to be wrong).
_URL_PASSWORD = r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)\S*@"
_compiled: list[re.Pattern[str]] = []


def mask_url_passwords(text: str) -> str:
    """Hide the password of every URL with user info (``postgres://u:pw@h`` -> ``u:***@h``)."""
    if "://" not in text:
        return text
    if not _compiled:
        import re

        _compiled.append(re.compile(_URL_PASSWORD))
    return _compiled[0].sub(r"\g<head>***@", text)


def shorten(text: str, limit: int = 80) -> str:
    """Cut ``text`` to ``limit`` characters with an ellipsis; call it only on redacted text."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _forms(secret: str) -> set[str]:
    """The ways a secret can appear in a message: as written, escaped by repr or JSON."""
    forms = {secret}
    escaped = repr(secret)[1:-1]
    forms.add(escaped)
    forms.add(escaped.replace('"', '\\"'))
    if "\n" in secret:
        forms.update(line.strip() for line in secret.splitlines())
    return {form for form in forms if len(form) >= (_MIN_LINE if form != secret else MIN_SECRET)}


class Redactor:
    """Hides known secret texts, and URL passwords, in any text it is given.

    Secrets are added as they are found (a secret file read, a ``SecretStr`` field's
    value); the same object then redacts every message of that load or render.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._forms: set[str] = set()
        self._ordered: list[str] | None = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Remember more secret texts (too-short ones are ignored: see :data:`MIN_SECRET`)."""
        for secret in secrets:
            if isinstance(secret, str) and len(secret) >= MIN_SECRET:
                self._forms.update(_forms(secret))
                self._ordered = None

    def __bool__(self) -> bool:
        return bool(self._forms)

    def __call__(self, text: str) -> str:
        """Return ``text`` with every known secret and URL password masked."""
        if self._ordered is None:
            self._ordered = sorted(self._forms, key=len, reverse=True)
        for form in self._ordered:
            if form in text:
                text = text.replace(form, MASK)
        return mask_url_passwords(text)
