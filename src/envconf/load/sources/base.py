"""The base of envconf's own layers: a pydantic-settings source that also gives a layer.

Being a ``PydanticBaseSettingsSource`` lets these layers stand anywhere pydantic-settings
expects a source: in what ``settings_customise_sources`` returns, in ``CliApp``, or
called directly (``source()`` returns the plain values of a load from ``os.environ``).
"""

from __future__ import annotations

from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

from envconf.load.source import Layer, LoadContext
from envconf.load.tree import plain


class EnvconfSource(PydanticBaseSettingsSource):
    """A source whose values carry origins: implement :meth:`layer`."""

    name = "envconf"

    def layer(self, ctx: LoadContext) -> Layer:
        """Find this layer's values for one load (see :class:`envconf.load.source.Source`)."""
        raise NotImplementedError

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # pydantic-settings' abstract per-field hook; layers read whole trees instead.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return plain(self.layer(LoadContext()).tree)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
