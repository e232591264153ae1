"""The ``Settings`` base class: four control methods merged into one typed object.

A drop-in for pydantic-settings' ``BaseSettings``: the same sources, options, constructor
keywords and ``settings_customise_sources``, plus envconf's ``file`` and ``cli`` layers
and the origin of every value. Data flow (:mod:`envconf.load`): sources -> merged tree
with origins -> one validation -> settings object, or one ``ConfigError`` with every
problem, located and secret-free.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar


def _pause_gc() -> bool:
    """Disable the cyclic garbage collector; return whether it was enabled (to resume it).

    Start-up allocates tens of thousands of objects that live as long as the process
    (pydantic's and envconf's modules, a settings class' specs). The collections these
    allocations trigger find almost no garbage, yet examine every such object twice (as
    young, then as middle-aged): about 4 ms of a 50-field app's start, halved by pausing
    them. Pauses nest: an inner one finds the collector disabled and leaves resuming it to
    the outermost.
    """
    enabled = gc.isenabled()
    gc.disable()
    return enabled


def _resume_gc(enabled: bool) -> None:
    """Re-enable the collector if :func:`_pause_gc` found it enabled."""
    if enabled:
        gc.enable()


def _freeze_start_up(enabled: bool) -> None:
    """Move every object alive now to the permanent generation (``gc.freeze()``).

    Called once, after the imports below: what exists then is pydantic's, pydantic-settings'
    and envconf's modules, classes and functions, plus whatever the app built before, which
    all live as long as the process. No collection examines frozen objects again: the app's
    full collections skip ~100k objects for its whole life (and a forked worker does not
    copy their pages), and the interpreter's collections at exit get ~15 ms cheaper for a
    50-field app. Reference counting still frees them; the one cost is that a reference
    cycle among them that becomes garbage later is never collected. An app that wants the
    old behaviour calls ``gc.unfreeze()`` after importing envconf; one that disabled the
    collector before importing it gets no freeze.
    """
    if enabled:
        gc.freeze()
    _resume_gc(enabled)


# These imports (pydantic, pydantic-settings, envconf's load pipeline) are start-up work
# whose objects live as long as the process: see _pause_gc and _freeze_start_up.
_gc_was_enabled = _pause_gc()
try:
    from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
    from pydantic_settings import SettingsConfigDict as _BaseConfigDict
    from typing_extensions import Self

    from envconf.errors import ConfigError
    from envconf.load.classinfo import DEFAULT_SECRETS_DIR, LAYERS, check_precedence, class_info
    from envconf.load.pipeline import make_sources, run_sources, split_keywords
    from envconf.load.report import LoadReport, loaded_data
    from envconf.load.source import LoadContext
    from envconf.load.sources.argv import ArgvSource
    from envconf.load.sources.files import ConfigFileSource
finally:
    _freeze_start_up(_gc_was_enabled)

if TYPE_CHECKING:
    from envconf.watch.settings import SettingsChange, SettingsWatcher


class SettingsConfigDict(_BaseConfigDict, total=False):
    """pydantic-settings' configuration keys plus envconf's own."""

    config_files: Sequence[str]
    config_env: str
    profile_env: str
    interpolate: bool
    allow_unset: bool
    file_suffix: str
    precedence: Sequence[str]


_KNOWN_KEYS = frozenset(
    (
        *ConfigDict.__annotations__,
        *_BaseConfigDict.__annotations__,
        *SettingsConfigDict.__annotations__,
    )
)


class Settings(BaseSettings):
    """Typed settings loaded from CLI flags, env vars, ``.env``, secrets and config files.

    ``AppSettings()`` loads like ``AppSettings.load()``; keyword arguments win over every
    layer (origin ``init``); pydantic-settings' constructor keywords (``_env_file``,
    ``_secrets_dir``, ``_cli_parse_args``...) mean what they mean there. Every problem is
    raised as one :class:`envconf.ConfigError`.
    """

    model_config: ClassVar[SettingsConfigDict] = SettingsConfigDict(
        extra="forbid",
        validate_default=True,
        # Set here, not defaulted later: pydantic-settings' own default (None) would hide
        # it, and an explicit ``secrets_dir=None`` must still turn it off.
        secrets_dir=DEFAULT_SECRETS_DIR,
    )

    _envconf_report: LoadReport | None = PrivateAttr(default=None)

    # Named as in pydantic: a field called "self" can still be passed as a keyword.
    def __init__(__pydantic_self__, **values: Any) -> None:  # noqa: N805
        __pydantic_self__._envconf_build(values, LoadContext())

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Reject, when the class is created, configuration keys nothing would read."""
        super().__pydantic_init_subclass__(**kwargs)
        unknown = [key for key in cls.model_config if key not in _KNOWN_KEYS]
        if unknown:
            hints = []
            for key in unknown:
                import difflib  # only for a suggestion: not at every start

                close = difflib.get_close_matches(key, sorted(_KNOWN_KEYS), n=1)
                hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise TypeError(f"{cls.__name__}: unknown model_config key {', '.join(hints)}")
        precedence = tuple(cls.model_config.get("precedence") or LAYERS)
        problems = check_precedence(precedence)  # an error now, not at the first load
        if problems:
            raise ConfigError(problems)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """envconf's layers in the configured ``precedence`` (highest first), after ``init``.

        Override it as in pydantic-settings to reorder, drop or add sources; envconf's own
        ``file`` and ``cli`` layers are :class:`envconf.ConfigFileSource` and
        :class:`envconf.ArgvSource`.
        """
        by_name: dict[str, PydanticBaseSettingsSource] = {
            "cli": ArgvSource(settings_cls),
            "env": env_settings,
            "dotenv": dotenv_settings,
            "secret": file_secret_settings,
            "file": ConfigFileSource(settings_cls),
        }
        precedence = class_info(settings_cls).precedence
        return (init_settings, *(by_name[name] for name in precedence))

    @classmethod
    def _settings_init_sources(  # type: ignore[override]  # the same keywords, by name
        cls, **keywords: Any
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Build this class' sources as envconf does (pydantic-settings' ``CliApp`` asks here)."""
        values = keywords.pop("_init_kwargs", None) or {}
        return make_sources(cls, keywords, dict(values), LoadContext())

    @classmethod
    def load(
        cls,
        argv: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        config_files: Sequence[str] | None = None,
    ) -> Self:
        """Load settings from every layer.

        Args:
            argv: command-line arguments for the ``cli`` layer (``None``: no CLI layer).
            env: the environment to read (``None``: ``os.environ``).
            config_files: replaces the configured list of config files.

        Raises:
            ConfigError: every problem found, one per line, located and secret-free.
            SystemExit: only for ``--help`` in ``argv`` (status 0).
        """
        instance = cls.__new__(cls)
        instance._envconf_build({}, LoadContext(env, argv, config_files))
        return instance

    @classmethod
    def watch(
        cls,
        callback: Callable[[Self, SettingsChange[Self]], None],
        *,
        argv: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        config_files: Sequence[str] | None = None,
        poll_interval: float = 1.0,
        on_error: Callable[[ConfigError], None] | None = None,
    ) -> SettingsWatcher[Self]:
        """Load the settings now and reload them whenever their files change.

        Returns a started :class:`envconf.watch.settings.SettingsWatcher`: ``.current`` is
        the latest valid object, ``callback(new, change)`` runs after each effective change,
        ``on_error(ConfigError)`` when a change is invalid (the old object is kept); use it
        as a context manager or call ``.stop()``.

        Raises:
            ConfigError: the initial configuration is invalid.
        """
        from envconf.watch.settings import SettingsWatcher

        watcher = SettingsWatcher(
            cls,
            callback,
            argv=argv,
            env=env,
            config_files=config_files,
            poll_interval=poll_interval,
            on_error=on_error,
        )
        return watcher.start()

    def _envconf_build(self, values: dict[str, Any], ctx: LoadContext) -> None:
        """Load and validate into ``self`` with the garbage collector paused (:func:`_pause_gc`).

        A load allocates many objects that reference counting frees and a few that live on
        (the class' specs, the modules the first load imports): collections during it would
        examine them again and again and find little garbage. The collector resumes when the
        outermost load ends, normally or not; a caller that disabled it keeps it disabled.
        """
        enabled = _pause_gc()
        try:
            self._envconf_load(values, ctx)
        finally:
            _resume_gc(enabled)

    def _envconf_load(self, values: dict[str, Any], ctx: LoadContext) -> None:
        cls = type(self)
        options, values = split_keywords(values)
        sources, init_kwargs = make_sources(cls, options, values, ctx)
        loaded = run_sources(cls, sources, init_kwargs, ctx)
        problems = loaded.problems
        try:
            BaseModel.__init__(self, **loaded.state)
        except ValidationError as exc:
            from envconf.load.validate import problems_from, unreported  # errors only

            found = unreported(problems_from(exc, loaded.tree, loaded.info), problems)
            if any(f.note == "could not be read" for layer in loaded.layers for f in layer.files):
                # A file that failed to parse may well set the keys that now look missing:
                # its own problem says what to fix; "required, not set" would be noise.
                found = [p for p in found if not p.message.startswith("required, not set")]
            problems = problems + found
        inputs = tuple(dict.fromkeys(i for layer in loaded.layers for i in layer.inputs))
        files = tuple(f for layer in loaded.layers for f in layer.files)
        precedence = tuple(layer.name for layer in loaded.layers)
        report = LoadReport(precedence, files, inputs, loaded.tree, loaded.info)
        if problems:
            redactor = loaded.redactor
            error = ConfigError(problems, redactor)
            error.inputs = inputs
            error.loaded = loaded_data(report, redactor)
            raise error
        self._envconf_report = report
