"""The shape every layer has: a :class:`Source` gives a :class:`Layer`.

A layer is what one source found: a tree of raw values, each with its origin, the
problems it ran into, and the inputs it read (files, variables, directories) so that a
watcher knows what to follow. Loading is a loop over sources (:mod:`envconf.load.pipeline`),
in the spirit of pydantic-settings' ``PydanticBaseSettingsSource`` and Figment's
``Provider``; a pydantic-settings source that knows nothing of origins is wrapped as a
layer whose origin is the source's name (:mod:`envconf.load.sources.foreign`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from envconf.errors import Problem
from envconf.load.tree import Tree
from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from envconf.records import NamedTuple


class Input(NamedTuple):
    """A file or directory a layer read, or would read once it appears (for watchers).

    ``what`` names it for messages (``config file``, ``env file``, ``APP_DB__PASSWORD_FILE``);
    ``tree`` marks a directory whose entries are read (a secrets dir).
    """

    path: str
    what: str
    tree: bool = False


class FileReport(NamedTuple):
    """A file or directory a layer considered, for ``explain``: loaded, or why not.

    ``what`` is ``config file`` or ``secrets dir``.
    """

    path: str
    loaded: bool
    note: str = ""
    what: str = "config file"


class Layer(NamedTuple):
    """What one source found."""

    name: str
    tree: Tree
    problems: list[Problem]
    inputs: tuple[Input, ...] = ()
    files: tuple[FileReport, ...] = ()
    #: Secret texts the layer read that may appear in a message (a VAR_FILE's content).
    secrets: tuple[str, ...] = ()


class LoadContext:
    """The inputs of one load, passed to every source: never read from globals deep inside.

    ``argv`` is ``None`` when there is no command line to read; ``config_files`` replaces
    the configured list of config files when given.
    """

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        argv: Sequence[str] | None = None,
        config_files: Sequence[str] | None = None,
    ) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.argv = None if argv is None else list(argv)
        self.config_files = config_files
        #: The merged values of the layers loaded so far (pydantic's ``current_state``).
        self.state: dict[str, Any] = {}
        #: Results computed once per load and shared by layers (``argv`` parsed per class).
        self.memo: dict[Any, Any] = {}


@runtime_checkable
class Source(Protocol):
    """A layer of configuration: a name (the origin's ``source``) and a way to load it."""

    name: str

    def layer(self, ctx: LoadContext) -> Layer:
        """Find this layer's values for one load; never raise for the operator's mistakes.

        Problems (a bad file, an unreadable secret) go into :attr:`Layer.problems` so that
        every problem of every layer is reported at once.
        """
        ...
