"""Test an app's settings without the developer's environment: the ``envconf_jail`` fixture.

A pytest plugin, registered by envconf's ``pytest11`` entry point: installing envconf is
enough, nothing to configure. The fixture gives each test a :class:`Jail`, in the spirit
of Figment's ``Jail``: a fresh directory (pytest's ``tmp_path``) that is the working
directory for the test, with helpers to put config files, ``.env`` files, secrets,
environment variables and a command line in it, and :meth:`Jail.load` to load a settings
class against exactly that::

    def test_production_port(envconf_jail):
        envconf_jail.file("config/app.yaml", "port: 80\\n")
        envconf_jail.env(APP_DEBUG="true")
        settings = envconf_jail.load(AppSettings)
        assert settings.port == 80
        assert envconf_jail.explain()["port"].location == "config/app.yaml:1"

While the jail is open, ``os.environ`` holds only the jail's variables (plus ``PATH``, the
locale and temporary-directory variables tools need, and ``HOME`` pointing into the
jail), ``sys.argv`` is the program name plus :meth:`Jail.argv`, and relative paths resolve
in the jail; all three are restored afterwards. So code under test that calls
``AppSettings()`` itself is isolated too. :meth:`Jail.load` passes the jail's variables
explicitly and points ``secrets_dir`` at the jail's, so nothing of the developer's
environment, home directory, working directory or ``/run/secrets`` is read.

This module is imported by every pytest run where envconf is installed: it imports
pydantic (through the loader) only when a jail loads settings.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from envconf.origin import Origin
    from envconf.settings import Settings

__all__ = ["KEPT_VARIABLES", "Jail", "envconf_jail"]

S = TypeVar("S", bound="Settings")

#: Variables of the real environment a jail leaves in ``os.environ``: tools and
#: subprocesses need them, and :meth:`Jail.load` never passes them to a settings class.
KEPT_VARIABLES = (
    "PATH",
    "SYSTEMROOT",
    "TMPDIR",
    "TEMP",
    "TMP",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "PYTEST_CURRENT_TEST",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_TESTRUNUID",
)


class Jail:
    """A directory, an environment and a command line for loading settings in a test.

    Use the ``envconf_jail`` fixture, or ``with Jail(path) as jail:`` outside pytest.
    Relative names given to the helpers are relative to :attr:`path`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).resolve()
        #: Where :meth:`secret` writes and every jailed load reads secrets from.
        self.secrets_dir = self.path / "run" / "secrets"
        #: ``HOME`` while the jail is open (``~`` in ``env_file`` or ``secrets_dir``).
        self.home = self.path / "home"
        self._environ: dict[str, str] = {}
        self._argv: list[str] | None = None
        self._last: Settings | None = None
        self._saved: tuple[str, dict[str, str], list[str]] | None = None

    # --- entering and leaving -------------------------------------------------------------

    def __enter__(self) -> Jail:
        """Switch the working directory, ``os.environ`` and ``sys.argv`` to the jail's."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.secrets_dir.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(exist_ok=True)
        self._saved = (os.getcwd(), dict(os.environ), list(sys.argv))
        kept = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
        os.chdir(self.path)
        os.environ.clear()
        os.environ.update({**kept, "HOME": str(self.home), **self._environ})
        sys.argv[:] = [sys.argv[0] if sys.argv else "app", *(self._argv or ())]
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Restore the working directory, ``os.environ`` and ``sys.argv``."""
        if self._saved is None:
            return
        cwd, environ, argv = self._saved
        self._saved = None
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(environ)
        sys.argv[:] = argv

    # --- what is in the jail --------------------------------------------------------------

    @property
    def environ(self) -> Mapping[str, str]:
        """The jail's variables: what :meth:`load` passes as the environment (read-only)."""
        return MappingProxyType(self._environ)

    def file(
        self, name: str | os.PathLike[str], text: str | bytes = "", dedent: bool = True
    ) -> Path:
        """Write a file in the jail (parent directories created) and return its path.

        Text is dedented and one leading newline dropped, so a triple-quoted string may
        start on the line after the quotes and ``file:line`` origins count from its first
        line; ``dedent=False`` writes it as given, bytes are always written as given.
        """
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            if dedent:
                text = textwrap.dedent(text.removeprefix("\n"))
            target.write_text(text, encoding="utf-8")
        return target

    def copy(
        self, source: str | os.PathLike[str], name: str | os.PathLike[str] | None = None
    ) -> Path:
        """Copy a file or a directory tree into the jail (e.g. the app's shipped config).

        ``name`` defaults to the source's own name, at the top of the jail. Build
        ``source`` from ``__file__``: inside the jail a relative path is the jail's.
        """
        origin = Path(source)
        target = self.path / (name if name is not None else origin.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(origin, target)
        return target

    def env(self, values: Mapping[str, str] | None = None, /, **variables: str) -> None:
        """Set environment variables in the jail (and in ``os.environ`` while it is open)."""
        update = {**(values or {}), **variables}
        for name, value in update.items():
            if not isinstance(value, str):
                raise TypeError(f"{name}: environment values are text, got {type(value).__name__}")
        self._environ.update(update)
        if self._saved is not None:
            os.environ.update(update)

    def unset(self, *names: str) -> None:
        """Remove environment variables from the jail."""
        for name in names:
            self._environ.pop(name, None)
            if self._saved is not None:
                os.environ.pop(name, None)

    def dotenv(self, text: str | None = None, /, *, name: str = ".env", **variables: str) -> Path:
        """Write a ``.env`` file: ``text`` as written, or ``NAME=value`` lines, quoted safely.

        The file is only read by a class whose ``env_file`` names it (the ``dotenv``
        layer); variables for the ``env`` layer go to :meth:`env`.
        """
        lines = [f"{key}={_quoted(value)}\n" for key, value in variables.items()]
        return self.file(name, (text or "") + "".join(lines))

    def secret(self, name: str, value: str | bytes) -> Path:
        """Write one secret file into :attr:`secrets_dir` (as Docker and Kubernetes mount them).

        The file is named like the key's variable with or without the prefix
        (``db__password``, ``APP_DB__PASSWORD``); ``value`` is written exactly as given.
        """
        return self.file(self.secrets_dir / name, value, dedent=False)

    def argv(self, *args: str) -> None:
        """Set the command line for :meth:`load` (the ``cli`` layer) and ``sys.argv[1:]``.

        Without a call, a jailed load has no command line at all.
        """
        self._argv = list(args)
        if self._saved is not None:
            sys.argv[1:] = self._argv

    # --- loading --------------------------------------------------------------------------

    def load(self, cls: type[S], /, **values: Any) -> S:
        """Load ``cls`` from the jail alone, as ``cls.load(argv, env)`` would.

        Keyword arguments are field values (the ``init`` layer) or pydantic-settings'
        constructor keywords (``_env_file``...). A class that reads a secrets dir reads
        :attr:`secrets_dir` instead.

        Raises:
            ConfigError: every problem of the jailed configuration.
        """
        from envconf.load.source import LoadContext

        if cls.model_config.get("secrets_dir") is not None:
            values.setdefault("_secrets_dir", str(self.secrets_dir))
        instance = cls.__new__(cls)
        instance._envconf_build(dict(values), LoadContext(dict(self._environ), self._argv))
        self._last = instance
        return instance

    def explain(self, settings: Settings | None = None) -> dict[str, Origin]:
        """The origin of every key of ``settings`` (default: the last :meth:`load`)."""
        from envconf.load.report import explain

        return explain(self._loaded(settings))

    def report(self, settings: Settings | None = None) -> dict[str, Any]:
        """The ``envconf explain --format json`` document of ``settings`` (default: the last)."""
        from envconf.load.report import explain_data

        return explain_data(self._loaded(settings))

    def _loaded(self, settings: Settings | None) -> Settings:
        if settings is not None:
            return settings
        if self._last is None:
            raise LookupError("nothing loaded in this jail yet: call jail.load(SettingsClass)")
        return self._last


def _quoted(value: str) -> str:
    """``value`` quoted for a ``.env`` line so that it reads back exactly."""
    if "'" not in value and "\n" not in value:
        return f"'{value}'"  # single quotes: no escapes, no ${VAR} expansion
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped.replace("$", "$$") + '"'


@pytest.fixture
def envconf_jail(tmp_path: Path) -> Iterator[Jail]:
    """A :class:`Jail` in the test's ``tmp_path``, open for the whole test."""
    with Jail(tmp_path) as jail:
        yield jail
