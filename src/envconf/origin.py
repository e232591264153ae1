"""Where a value came from: the layer (``source``) and the place in it (``location``)."""

from __future__ import annotations

from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from envconf.records import NamedTuple


class Origin(NamedTuple):
    """The origin of one effective value and every origin it beat (highest first)."""

    source: str
    location: str
    overridden: tuple[Origin, ...] = ()

    def __str__(self) -> str:
        text = f"{self.location} ({self.source})" if self.location != self.source else self.source
        if self.overridden:
            beaten = ", ".join(
                o.location if o.location == o.source else f"{o.location} ({o.source})"
                for o in self.overridden
            )
            text += f", overriding {beaten}"
        return text

    def to_dict(self) -> dict[str, object]:
        """Return the JSON shape used by ``envconf explain --format json``."""
        return {
            "source": self.source,
            "location": self.location,
            "overridden": [{"source": o.source, "location": o.location} for o in self.overridden],
        }
