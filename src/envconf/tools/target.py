"""Import the app's settings class from ``--settings MODULE:CLASS`` or ``path/file.py:CLASS``."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

from envconf.errors import EnvconfError, UsageError


def import_settings_class(spec: str) -> type[Any]:
    """Return the ``envconf.Settings`` subclass named by ``spec``.

    The current directory is importable, as for ``python -m``.

    Raises:
        UsageError: malformed spec, import failure, missing or non-Settings class.
    """
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name:
        raise UsageError(f"--settings {spec!r}: expected MODULE:CLASS or path/to/file.py:CLASS")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        if target.endswith(".py") or os.sep in target:
            module_name = "_envconf_settings_" + os.path.splitext(os.path.basename(target))[0]
            location = importlib.util.spec_from_file_location(module_name, target)
            if location is None or location.loader is None or not os.path.isfile(target):
                raise UsageError(f"--settings {spec!r}: no such file {target}")
            module = importlib.util.module_from_spec(location)
            sys.modules[module_name] = module
            location.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
    except EnvconfError:  # ours (a SIGTERM while importing: Terminated, exit 143)
        raise
    except Exception as exc:  # any error while importing user code is a usage error
        raise UsageError(
            f"--settings {spec!r}: cannot import {target}: {type(exc).__name__}: {exc}"
        ) from None
    cls = getattr(module, name, None)
    if cls is None:
        raise UsageError(f"--settings {spec!r}: {target} has no attribute {name}")
    from envconf.settings import Settings

    if not (isinstance(cls, type) and issubclass(cls, Settings)):
        raise UsageError(f"--settings {spec!r}: {name} is not an envconf.Settings subclass")
    return cls
