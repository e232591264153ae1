"""Map environment-variable-style names to settings keys, once per settings class."""

from __future__ import annotations

from envconf.load.model import FieldSpec, ModelSpec
from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from envconf.records import NamedTuple


class NameIndex(NamedTuple):
    """Lookup tables from (upper-cased unless case-sensitive) names to specs.

    ``by_name`` holds prefixed names (``APP_DB__PORT``) of leaves and of nested models
    (a model accepts a JSON object). ``unprefixed`` holds the same names without the
    prefix (``DB__PORT``), used by ``.env`` config files and the secrets dir.
    """

    prefix: str
    file_suffix: str
    case_sensitive: bool
    by_name: dict[str, FieldSpec | ModelSpec]
    unprefixed: dict[str, FieldSpec | ModelSpec]

    def norm(self, name: str) -> str:
        """Normalise a name for lookup (upper-case unless the model is case-sensitive)."""
        return name if self.case_sensitive else name.upper()

    def lookup(self, name: str, *, allow_unprefixed: bool = False) -> FieldSpec | ModelSpec | None:
        """Return the spec a variable name sets, or ``None``."""
        key = self.norm(name)
        prefix = self.norm(self.prefix)
        if key.startswith(prefix):
            found = self.by_name.get(key)
            if found is not None:
                return found
        if allow_unprefixed:
            return self.unprefixed.get(key)
        return None


def build_index(
    spec: ModelSpec, *, prefix: str, file_suffix: str, case_sensitive: bool
) -> NameIndex:
    """Index every leaf and nested model of ``spec`` by its environment variable name."""
    by_name: dict[str, FieldSpec | ModelSpec] = {}
    unprefixed: dict[str, FieldSpec | ModelSpec] = {}

    def add(node: FieldSpec | ModelSpec) -> None:
        by_name[node.env_name] = node
        unprefixed[node.env_name[len(prefix) :]] = node

    def walk(model: ModelSpec) -> None:
        for child in model.children.values():
            add(child)
            if isinstance(child, ModelSpec):
                walk(child)

    walk(spec)
    return NameIndex(prefix, file_suffix, case_sensitive, by_name, unprefixed)
