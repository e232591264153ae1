"""The garbage collector is paused while settings load, and always left as it was found."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator

import pytest
from pydantic import field_validator

import envconf

#: ``gc.isenabled()`` as seen by validators, in the order they ran.
seen: list[bool] = []


class Inner(envconf.Settings):
    model_config = envconf.SettingsConfigDict(env_prefix="IN_", secrets_dir=None)

    port: int = 1

    @field_validator("port")
    @classmethod
    def _record(cls, value: int) -> int:
        seen.append(gc.isenabled())
        return value


class Outer(envconf.Settings):
    model_config = envconf.SettingsConfigDict(env_prefix="OUT_", secrets_dir=None)

    port: int = 1
    nested: int = 0

    @field_validator("nested")
    @classmethod
    def _load_inner(cls, value: int) -> int:
        if value:
            seen.append(gc.isenabled())
            Inner.load(env={})  # a load inside a load (a validator reading other settings)
            seen.append(gc.isenabled())
        return value


class Exploding(envconf.Settings):
    model_config = envconf.SettingsConfigDict(env_prefix="EX_", secrets_dir=None)

    port: int = 1

    @field_validator("port")
    @classmethod
    def _explode(cls, value: int) -> int:
        raise RuntimeError("not a validation error: it escapes the load as it is")


@pytest.fixture(autouse=True)
def gc_enabled() -> Iterator[None]:
    """Each test starts with the collector enabled and leaves it so, whatever it asserts."""
    was = gc.isenabled()
    gc.enable()
    seen.clear()
    try:
        yield
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()


def test_paused_during_a_load_and_enabled_after() -> None:
    Inner.load(env={})
    assert seen == [False]
    assert gc.isenabled()


def test_paused_during_construction_and_enabled_after() -> None:
    Inner(port=2)
    assert seen == [False]
    assert gc.isenabled()


def test_enabled_after_a_failing_load() -> None:
    with pytest.raises(envconf.ConfigError):
        Inner.load(env={"IN_PORT": "not a number"})
    assert gc.isenabled()


def test_enabled_after_a_load_that_raises_something_else() -> None:
    with pytest.raises(RuntimeError):
        Exploding.load(env={})
    assert gc.isenabled()


def test_enabled_after_help_exits(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        Inner.load(argv=["--help"], env={})
    assert "usage:" in capsys.readouterr().out
    assert gc.isenabled()


def test_a_nested_load_leaves_the_outer_one_paused() -> None:
    Outer.load(env={"OUT_NESTED": "1"})
    # Before the inner load, inside it, and after it: still paused by the outer load.
    assert seen == [False, False, False]
    assert gc.isenabled()


def test_a_failing_nested_load_resumes_once_the_outer_one_ends() -> None:
    with pytest.raises(envconf.ConfigError):
        Outer.load(env={"OUT_NESTED": "1", "OUT_PORT": "x", "IN_PORT": "1"})
    assert gc.isenabled()


def test_a_caller_that_disabled_the_collector_keeps_it_disabled() -> None:
    gc.disable()
    Inner.load(env={})
    assert not gc.isenabled()
    with pytest.raises(envconf.ConfigError):
        Inner.load(env={"IN_PORT": "not a number"})
    assert not gc.isenabled()


@pytest.mark.parametrize("disabled", [False, True])
def test_importing_settings_leaves_the_collector_as_it_was(disabled: bool) -> None:
    code = (
        "import gc, sys\n"
        f"if {disabled}: gc.disable()\n"
        "import envconf\n"
        "envconf.Settings\n"
        "assert 'envconf.settings' in sys.modules\n"
        "print(gc.isenabled())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == str(not disabled)


def _run(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True)


def test_objects_an_app_froze_stay_frozen() -> None:
    code = (
        "import gc\n"
        "kept = [[]]\n"
        "gc.freeze()\n"
        "import envconf\n"
        "class S(envconf.Settings):\n"
        "    port: int = 1\n"
        "S.load(env={})\n"
        "assert not any(o is kept for o in gc.get_objects())  # still frozen\n"
        "assert gc.isenabled()\n"
    )
    _run(code)


# A cycle that is garbage only for the collector (reference counting cannot free it);
# the weak reference tells whether the collector freed it.
_CYCLE = (
    "import gc, weakref\n"
    "class Node: pass\n"
    "def cycle():\n"
    "    a, b = Node(), Node()\n"
    "    a.other, b.other = b, a\n"
    "    return a, weakref.ref(a)\n"
)


def test_start_up_objects_are_frozen_once_at_import_and_loads_freeze_nothing() -> None:
    code = _CYCLE + (
        "import envconf\n"
        "envconf.Settings\n"
        "frozen = gc.get_freeze_count()\n"
        "assert frozen > 10000, frozen  # pydantic's and envconf's modules, at least\n"
        "class S(envconf.Settings):\n"
        "    port: int = 1\n"
        "S.load(env={})\n"
        "S.load(env={})\n"
        "assert gc.get_freeze_count() <= frozen  # none added (some freed by refcount)\n"
        "node, alive = cycle()  # made after the import: collected as usual\n"
        "del node\n"
        "gc.collect()\n"
        "assert alive() is None\n"
        "assert gc.isenabled()\n"
    )
    _run(code)


def test_a_cycle_alive_at_import_is_kept_until_the_app_unfreezes() -> None:
    # The documented cost of the freeze, and the documented way out of it.
    code = _CYCLE + (
        "node, alive = cycle()\n"
        "import envconf\n"
        "envconf.Settings\n"
        "del node\n"
        "gc.collect()\n"
        "assert alive() is not None  # frozen: no collection examines it\n"
        "gc.unfreeze()\n"
        "gc.collect()\n"
        "assert alive() is None\n"
    )
    _run(code)


def test_nothing_is_frozen_when_the_collector_was_disabled_at_import() -> None:
    code = (
        "import gc\n"
        "gc.disable()\n"
        "import envconf\n"
        "envconf.Settings\n"
        "assert gc.get_freeze_count() == 0\n"
        "assert not gc.isenabled()\n"
    )
    _run(code)
