"""``DataDir``: a directory the app writes persistent data to (must be on a volume)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator


class DataDirMarker:
    """Marks a field as persistent data, so ``envconf check`` can look for a volume."""

    def __repr__(self) -> str:
        return "DataDir"


DATA_DIR_MARKER = DataDirMarker()


def _existing_writable(path: Path) -> Path:
    if not path.is_dir():
        raise ValueError(f"data directory {path} does not exist")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"data directory {path} is not writable")
    return path


DataDir = Annotated[Path, AfterValidator(_existing_writable), DATA_DIR_MARKER]
"""A ``Path`` that must exist and be writable; ``envconf check`` warns when it is not on a
mounted volume (what a container writes elsewhere is lost when it is removed)."""
