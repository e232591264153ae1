"""The ``env`` and ``dotenv`` layers as sources: where each finds its variables.

What they share (pydantic-settings' interpretation, origins, ``VAR_FILE``) is
:class:`~envconf.load.sources.variables.VariablesLayer`.
"""

from __future__ import annotations

import warnings
from typing import Any

from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource

from envconf.errors import Problem, UnknownVariableWarning, caller_stacklevel
from envconf.load.classinfo import class_info
from envconf.load.source import FileReport, LoadContext
from envconf.load.sources.dotenv import VarEntry, read_env_files
from envconf.load.sources.variables import VariablesLayer

__all__ = ["DotEnvSource", "EnvSource"]


class EnvSource(VariablesLayer, EnvSettingsSource):
    """The ``env`` layer: the load's environment variables."""

    name = "env"

    def _entries(
        self, ctx: LoadContext
    ) -> tuple[list[VarEntry], list[Problem], tuple[FileReport, ...]]:
        norm = self._norm
        suffix = norm(str(self.config.get("file_suffix", "_FILE")))
        prefix = norm(self.env_prefix)
        wanted: list[VarEntry] = []
        unknown: list[str] = []
        for name, value in ctx.environ.items():
            n = norm(name)
            if self.names_a_key(n) or (
                suffix and n.endswith(suffix) and self.names_a_key(n[: -len(suffix)])
            ):
                wanted.append(VarEntry(name, value, name))
            elif prefix and n.startswith(prefix):
                unknown.append(name)
        if unknown:
            self._warn_unknown(unknown)
        return wanted, [], ()

    def _warn_unknown(self, names: list[str]) -> None:
        """Warn about prefixed variables that name no key but look like one (a typo).

        A prefixed variable far from every key is left alone: orchestrators add their own
        (Kubernetes' ``APP_SERVICE_HOST`` for a service named ``app``).
        """
        import difflib

        info = class_info(self.settings_cls)
        own = {self._norm(info.config_env), self._norm(info.profile_env)}  # envconf's own
        known = list(self._names().fields)
        for name in sorted(names):
            if self._norm(name) in own:
                continue
            close = difflib.get_close_matches(self._norm(name), known, n=1, cutoff=0.75)
            if not close:
                continue
            warnings.warn(
                f"{name}: the variable has the prefix {self.env_prefix!r} but sets no key"
                f" (did you mean {close[0].upper()}?)",
                UnknownVariableWarning,
                stacklevel=caller_stacklevel(),
            )


class DotEnvSource(VariablesLayer, DotEnvSettingsSource):
    """The ``dotenv`` layer: ``.env`` files named by ``env_file`` (python-dotenv syntax)."""

    name = "dotenv"

    def _entries(
        self, ctx: LoadContext
    ) -> tuple[list[VarEntry], list[Problem], tuple[FileReport, ...]]:

        return read_env_files(
            self.env_file,
            self.env_file_depth,
            self.env_file_encoding,
            ctx.environ,
            self.is_secret_variable,
        )

    def __call__(self) -> dict[str, Any]:
        if not self.env_vars:
            return {}  # no file: nothing to interpret (pydantic-settings would walk every field)
        return super().__call__()
