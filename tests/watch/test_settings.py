"""Tests for envconf.watch.settings: fingerprints, debouncing, and live settings reloads."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

import envconf
from envconf.watch.files import FileWatcher, default_debounce, watch_dirs, watchfiles_available
from envconf.watch.settings import SettingsChange, SettingsWatcher, settings_targets
from envconf.watch.snapshot import (
    WatchTarget,
    changed_paths,
    file_state,
    most_specific,
    snapshot,
)

BACKENDS = [
    "polling",
    pytest.param(
        "watchfiles",
        marks=pytest.mark.skipif(not watchfiles_available(), reason="watchfiles not installed"),
    ),
]


class ConfigMap:
    """A Kubernetes ConfigMap volume: timestamped dirs, ``..data``, visible links into it."""

    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.generation = 0
        self.swap(files)
        for name in files:
            (root / name).symlink_to(f"..data/{name}")

    def swap(self, files: dict[str, str]) -> None:
        """Update it as the kubelet does: new dir, ``..data_tmp`` link renamed over ``..data``."""
        self.generation += 1
        stamp = f"..2026_11_28_10_00_{self.generation:02d}.123"
        (self.root / stamp).mkdir()
        for name, text in files.items():
            (self.root / stamp / name).write_text(text)
        (self.root / "..data_tmp").symlink_to(stamp)
        os.rename(self.root / "..data_tmp", self.root / "..data")


class Calls:
    """Collects callback calls; ``wait`` blocks until there are ``count`` of them."""

    def __init__(self) -> None:
        self.calls: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, *args: Any) -> None:
        with self._cond:
            self.calls.append(args if len(args) != 1 else args[0])
            self._cond.notify_all()

    def wait(self, count: int, timeout: float = 5.0) -> list[Any]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.calls) >= count, timeout):
                raise AssertionError(f"expected {count} calls, got {self.calls!r}")
            return list(self.calls)


# --- fingerprints --------------------------------------------------------------------


class TestFingerprint:
    def test_same_size_rewrite_within_one_timestamp_is_a_change(self, tmp_path: Path) -> None:
        path = tmp_path / "app.yaml"
        path.write_text("port: 1\n")
        before = file_state(str(path))
        times = os.stat(path)
        path.write_text("port: 2\n")
        os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))  # hide it from mtime
        after = file_state(str(path))
        assert before is not None and after is not None
        assert (before.size, before.mtime_ns) == (after.size, after.mtime_ns)
        assert before != after

    def test_untouched_file_keeps_its_fingerprint(self, tmp_path: Path) -> None:
        path = tmp_path / "app.yaml"
        path.write_text("port: 1\n")
        assert file_state(str(path)) == file_state(str(path))

    def test_kubernetes_data_swap_changes_the_visible_path(self, tmp_path: Path) -> None:
        volume = ConfigMap(tmp_path / "cfg", {"app.conf": "a=1\n"})
        visible = str(volume.root / "app.conf")
        before = file_state(visible)
        volume.swap({"app.conf": "a=1\n"})  # same content: still a new generation
        after = file_state(visible)
        assert before is not None and after is not None
        assert before.real != after.real
        assert after.real.endswith("..2026_11_28_10_00_02.123/app.conf")

    def test_replace_by_rename_and_deletion_are_changes(self, tmp_path: Path) -> None:
        path = tmp_path / "app.yaml"
        path.write_text("a: 1\n")
        first = snapshot([WatchTarget(str(path), "config file")])
        (tmp_path / ".app.yaml.swp").write_text("a: 1\n")
        os.rename(tmp_path / ".app.yaml.swp", path)  # an editor's save: new inode
        second = snapshot([WatchTarget(str(path), "config file")])
        path.unlink()
        third = snapshot([WatchTarget(str(path), "config file")])
        assert first != second
        assert third == {str(path): None}
        assert changed_paths(second, third) == [str(path)]

    def test_a_missing_file_that_appears_is_a_change(self, tmp_path: Path) -> None:
        target = WatchTarget(str(tmp_path / "later.yaml"), "config file")
        before = snapshot([target])
        (tmp_path / "later.yaml").write_text("x: 1\n")
        assert changed_paths(before, snapshot([target])) == [target.path]

    def test_tree_skips_swap_entries_and_other_suffixes_and_recurses(self, tmp_path: Path) -> None:
        ConfigMap(tmp_path / "tpl", {"a.conf.j2": "x"})
        (tmp_path / "tpl" / "notes.txt").write_text("n")
        (tmp_path / "tpl" / "sub").mkdir()
        (tmp_path / "tpl" / "sub" / "b.conf.tmpl").write_text("y")
        target = WatchTarget(str(tmp_path / "tpl"), "template dir", True, True, (".j2", ".tmpl"))
        found = snapshot([target])
        names = sorted(os.path.relpath(p, tmp_path / "tpl") for p in found)
        assert names == [".", "a.conf.j2", "sub", "sub/b.conf.tmpl"]

    def test_tree_entry_added_removed_and_changed(self, tmp_path: Path) -> None:
        (tmp_path / "a").write_text("1")
        (tmp_path / "b").write_text("1")
        target = WatchTarget(str(tmp_path), "secrets dir", tree=True)
        before = snapshot([target])
        (tmp_path / "a").write_text("22")
        (tmp_path / "b").unlink()
        (tmp_path / "c").write_text("1")
        changes = changed_paths(before, snapshot([target]))
        assert changes == [str(tmp_path / n) for n in ("a", "b", "c")]

    def test_directory_times_do_not_count(self, tmp_path: Path) -> None:
        target = WatchTarget(str(tmp_path), "template dir", True, True, (".j2",))
        before = snapshot([target])
        (tmp_path / "ignored.txt").write_text("x")  # changes the directory's mtime
        assert snapshot([target]) == before

    def test_watch_dirs_cover_parents_link_targets_and_missing_paths(self, tmp_path: Path) -> None:
        volume = ConfigMap(tmp_path / "cfg", {"app.conf": "a"})
        targets = [
            WatchTarget(str(volume.root / "app.conf"), "template"),
            WatchTarget(str(tmp_path / "missing" / "deeper" / "x.yaml"), "config file"),
        ]
        dirs = watch_dirs(targets, snapshot(targets))
        assert str(volume.root) in dirs
        assert str(volume.root / "..2026_11_28_10_00_01.123") in dirs
        assert str(tmp_path) in dirs  # nearest existing ancestor of the missing file

    def test_most_specific_drops_directories_of_other_changed_paths(self) -> None:
        paths = ["cfg/templates", "cfg/templates/a.j2", "cfg/templatesX", "other"]
        assert most_specific(paths) == ["cfg/templates/a.j2", "cfg/templatesX", "other"]

    def test_default_debounce(self) -> None:
        assert default_debounce(1.0) == 0.4
        assert default_debounce(0.05) == pytest.approx(0.1)


# --- the watcher ------------------------------------------------------------------------


@pytest.fixture
def calls() -> Calls:
    return Calls()


def make_watcher(calls: Callable[..., None], backend: str = "polling", **kw: Any) -> FileWatcher:
    return FileWatcher(calls, poll_interval=0.02, debounce=0.15, backend=backend, **kw)


class TestFileWatcher:
    def test_a_burst_of_writes_is_one_change(self, tmp_path: Path, calls: Calls) -> None:
        path = tmp_path / "app.yaml"
        path.write_text("v: 0\n")
        watcher = make_watcher(calls)
        watcher.reset([WatchTarget(str(path), "config file")])
        with watcher:
            for i in range(1, 6):
                path.write_text(f"v: {i}\n")
                time.sleep(0.03)
            assert calls.wait(1) == [[str(path)]]
            time.sleep(0.25)
        assert len(calls.calls) == 1

    @pytest.mark.parametrize("backend", BACKENDS)
    def test_one_configmap_swap_is_one_call(
        self, tmp_path: Path, calls: Calls, backend: str
    ) -> None:
        volume = ConfigMap(tmp_path / "cfg", {"app.conf.j2": "a", "other.j2": "b"})
        targets = [WatchTarget(str(volume.root), "template dir", True, True, (".j2",))]
        watcher = make_watcher(calls, backend)
        watcher.reset(targets)
        with watcher:
            time.sleep(0.1)  # let watchfiles set up its watches
            volume.swap({"app.conf.j2": "a2", "other.j2": "b"})
            first = calls.wait(1)
            time.sleep(0.25)
            volume.swap({"app.conf.j2": "a3", "other.j2": "b"})
            calls.wait(2)
            time.sleep(0.25)
        assert len(calls.calls) == 2
        assert first[0] == sorted(str(volume.root / n) for n in ("app.conf.j2", "other.j2"))

    def test_a_change_after_the_baseline_but_before_start_is_reported(
        self, tmp_path: Path, calls: Calls
    ) -> None:
        path = tmp_path / "app.yaml"
        path.write_text("v: 1\n")
        targets = [WatchTarget(str(path), "config file")]
        before = snapshot(targets)  # taken before the program read the file
        path.write_text("v: 2\n")
        watcher = make_watcher(calls)
        watcher.reset(targets, before)
        watcher.check()
        assert calls.calls == [[str(path)]]

    def test_a_failing_callback_does_not_stop_the_watcher(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "app.yaml"
        path.write_text("v: 1\n")
        seen = Calls()

        def callback(paths: list[str]) -> None:
            seen(paths)
            raise RuntimeError("boom")

        watcher = make_watcher(callback)
        watcher.reset([WatchTarget(str(path), "config file")])
        with watcher:
            path.write_text("v: 2\n")
            seen.wait(1)
            path.write_text("v: 3\n")
            seen.wait(2)
        assert "RuntimeError: boom" in capsys.readouterr().err

    def test_unchanged_inputs_never_call_back(self, tmp_path: Path, calls: Calls) -> None:
        (tmp_path / "app.yaml").write_text("v: 1\n")
        watcher = make_watcher(calls)
        watcher.reset([WatchTarget(str(tmp_path / "app.yaml"), "config file")])
        with watcher:
            time.sleep(0.2)
        assert calls.calls == []

    def test_describe_names_the_backend(self) -> None:
        assert "polling every 1 s" in FileWatcher(print, backend="polling").describe()
        if watchfiles_available():
            assert "watchfiles" in FileWatcher(print).describe()


# --- settings ---------------------------------------------------------------------------


class Database(BaseModel):
    host: str = "localhost"
    port: int = 5432
    password: SecretStr | None = None


class AppSettings(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="APP_",
        env_nested_delimiter="__",
        config_files=["app.yaml"],
        secrets_dir="secrets",
    )
    debug: bool = False
    workers: int = 1
    db: Database = Database()


@pytest.fixture
def project(workdir: Path) -> Path:
    (workdir / "app.yaml").write_text("workers: 2\ndb:\n  port: 6000\n")
    (workdir / "secrets").mkdir()
    (workdir / "secrets" / "db__password").write_text("first")
    return workdir


@pytest.fixture
def errors() -> Calls:
    return Calls()


@pytest.fixture
def watcher(env: dict[str, str], calls: Calls, errors: Calls) -> Iterator[SettingsWatcher[Any]]:
    watcher = SettingsWatcher(
        AppSettings, calls, env=env, poll_interval=0.02, debounce=0.05, on_error=errors
    )
    yield watcher
    watcher.stop()


@pytest.mark.usefixtures("project")
class TestSettingsWatcher:
    def test_yaml_change_calls_back_with_the_changed_keys_and_origins(
        self, watcher: SettingsWatcher[Any], calls: Calls
    ) -> None:
        old = watcher.current
        Path("app.yaml").write_text("workers: 3\ndb:\n  port: 6000\n  host: db\n")
        watcher.check()
        [(new, change)] = calls.calls
        assert isinstance(change, SettingsChange)
        assert (new.workers, new.db.host) == (3, "db")
        assert watcher.current is new and change.previous is old
        assert list(change.keys) == ["workers", "db.host"]
        workers = change.keys["workers"]
        assert (workers.old_value, workers.new_value) == (2, 3)
        assert (workers.old_origin.source, workers.old_origin.location) == ("file", "app.yaml:1")
        host = change.keys["db.host"]
        assert (host.old_origin.source, host.new_origin.location) == ("default", "app.yaml:4")
        assert change.files == ("app.yaml",)
        assert "workers: 2 -> 3, from app.yaml:1 (file)" in str(change)
        assert "db.host: 'localhost' -> 'db', from default, now from app.yaml:4 (file)" in str(
            change
        )

    def test_invalid_change_keeps_the_old_object_and_reports_the_error(
        self, watcher: SettingsWatcher[Any], calls: Calls, errors: Calls
    ) -> None:
        old = watcher.current
        Path("app.yaml").write_text("workers: many\n")
        watcher.check()
        assert calls.calls == []
        [error] = errors.calls
        assert isinstance(error, envconf.ConfigError)
        assert "workers" in str(error) and "app.yaml:1" in str(error)
        assert watcher.current is old
        Path("app.yaml").write_text("workers: 4\n")  # fixed again: reloads as usual
        watcher.check()
        assert watcher.current.workers == 4

    def test_secret_change_is_reported_masked(
        self, watcher: SettingsWatcher[Any], calls: Calls
    ) -> None:
        Path("secrets/db__password").write_text("second")
        watcher.check()
        [(new, change)] = calls.calls
        assert new.db.password.get_secret_value() == "second"
        password = change.keys["db.password"]
        assert password.value_changed and password.secret
        assert password.new_value == "**********"
        assert "second" not in str(change) and "first" not in str(change)
        assert "db.password: secret value changed" in str(change)

    def test_moving_a_key_within_its_file_is_no_change(
        self, watcher: SettingsWatcher[Any], calls: Calls
    ) -> None:
        Path("app.yaml").write_text(
            "# a comment shifts every line\nworkers: 2\ndb:\n  port: 6000\n"
        )
        watcher.check()
        assert calls.calls == []

    def test_var_file_target_change_reloads(
        self, project: Path, env: dict[str, str], calls: Calls
    ) -> None:
        (project / "port").write_text("7000\n")
        env.update(APP_DB__PORT_FILE=str(project / "port"), LOG_FILE=str(project / "log"))
        watcher = SettingsWatcher(AppSettings, calls, env=env, poll_interval=0.02, debounce=0.05)
        assert watcher.current.db.port == 7000
        assert str(project / "log") not in {t.path for t in watcher.targets}
        (project / "port").write_text("7001\n")
        watcher.check()
        [(new, change)] = calls.calls
        assert new.db.port == 7001
        assert change.keys["db.port"].new_origin.location.startswith(str(project / "port"))

    def test_settings_watch_is_a_started_context_manager(self, env: dict[str, str]) -> None:
        calls = Calls()
        with AppSettings.watch(calls, env=env, poll_interval=0.02) as watcher:
            assert watcher.current.workers == 2
            Path("app.yaml").write_text("workers: 5\n")
            [(new, change)] = calls.wait(1)
        assert new.workers == 5 and watcher.current is new
        assert "workers" in change.keys

    def test_default_on_error_prints_to_stderr(
        self, env: dict[str, str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        watcher = SettingsWatcher(AppSettings, print, env=env, poll_interval=0.02, debounce=0.05)
        Path("app.yaml").write_text("workers: [\n")
        watcher.check()
        err = capsys.readouterr().err
        assert "keeping the previous settings" in err and "app.yaml" in err
        assert watcher.current.workers == 2

    def test_invalid_initial_configuration_raises(self, env: dict[str, str]) -> None:
        Path("app.yaml").write_text("workers: many\n")
        with pytest.raises(envconf.ConfigError):
            SettingsWatcher(AppSettings, print, env=env)


def test_settings_targets_cover_every_source(workdir: Path) -> None:
    class Profiled(envconf.Settings):
        model_config = envconf.SettingsConfigDict(
            env_prefix="APP_",
            config_files=["config/app.yaml"],
            env_file=".env",
            secrets_dir="/run/secrets",
        )
        token: str = ""

    env = {"APP_PROFILE": "production", "APP_TOKEN_FILE": "/tok", "PID_FILE": "/pid"}
    targets = {(t.path, t.what, t.tree) for t in settings_targets(Profiled, env=env)}
    assert targets == {
        ("config/app.yaml", "config file", False),
        ("config/app.production.yaml", "config file", False),
        (".env", "env file", False),
        ("/run/secrets", "secrets dir", True),
        ("/tok", "APP_TOKEN_FILE", False),
    }
