"""Promise 1: never a partial or over-permissive file, never through a symlink or outside.

Everything here runs the real ``envconf render``. ``tests/render/test_writer.py`` and
``test_writer_kill.py`` test the writer module itself; this module checks the command:

* the file has exactly the requested mode under umask 000 and 077, and is never more
  permissive, not even for an instant while it is written (an inotify watcher stats each
  temporary file as it appears: ``open(tmp, "w")`` then ``chmod`` fails this);
* a destination that is a symlink is refused, as is one outside ``--output-dir``, and
  nothing at all is written then;
* SIGKILL at many points leaves every destination old or new, and any temporary file
  left behind no more permissive than the final file;
* a full disk (a 64 KiB tmpfs in a private mount namespace) during a render of several
  files keeps the failing file's old content, exits 1 and leaves no temporary file.
"""

from __future__ import annotations

import ctypes
import os
import random
import select
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from .support import BASE_ENV, Run, envconf, python

ENVCONF = [sys.executable, "-m", "envconf"]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def temp_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if ".envconf-" in p.name and p.name.endswith(".tmp"))


def render_with_umask(mask: int, args: list[str], cwd: Path, env: dict[str, str]) -> Run:
    script = f'umask {mask:03o}; exec "$@"'
    return python(["sh", "-c", script, "sh", *ENVCONF, "render", *args], cwd=cwd, env=env)


# --- exact modes ------------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o000, 0o077])
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o755])
def test_written_files_have_exactly_the_requested_mode(
    mask: int, mode: int, tmp_path: Path
) -> None:
    (tmp_path / "a.conf.tmpl").write_text("a=${A}\n")
    (tmp_path / "b.conf.j2").write_text("b={{ A }}\n")
    (tmp_path / "b.conf").write_text("old\n")
    (tmp_path / "b.conf").chmod(0o666)  # an existing file's looser mode is not kept
    run = render_with_umask(
        mask, ["--mode", f"{mode:04o}", "-t", "a.conf.tmpl", "-t", "b.conf.j2"], tmp_path,
        {"A": "1"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert (mode_of(tmp_path / "a.conf"), mode_of(tmp_path / "b.conf")) == (mode, mode)


@pytest.mark.parametrize("mask", [0o000, 0o077])
def test_without_mode_each_file_gets_its_templates_mode(mask: int, tmp_path: Path) -> None:
    for name, mode in [("secret.conf.tmpl", 0o600), ("public.conf.tmpl", 0o644)]:
        (tmp_path / name).write_text("x=${A}\n")
        (tmp_path / name).chmod(mode)
    args = ["-t", "secret.conf.tmpl", "-t", "public.conf.tmpl"]
    run = render_with_umask(mask, args, tmp_path, {"A": "1"})
    assert run.returncode == 0, run.stderr
    assert mode_of(tmp_path / "secret.conf") == 0o600
    assert mode_of(tmp_path / "public.conf") == 0o644


class _Watcher:
    """Stat every file created in a directory the moment inotify reports it."""

    IN_CREATE = 0x100

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.modes: dict[str, int] = {}
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd = self._libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
        if self._fd < 0:
            pytest.skip("inotify is not available")
        if self._libc.inotify_add_watch(self._fd, os.fsencode(folder), self.IN_CREATE) < 0:
            pytest.skip("inotify is not available")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not select.select([self._fd], [], [], 0.05)[0]:
                continue
            data = os.read(self._fd, 65536)
            at = 0
            while at + 16 <= len(data):
                length = int.from_bytes(data[at + 12 : at + 16], sys.byteorder)
                name = data[at + 16 : at + 16 + length].rstrip(b"\0").decode()
                at += 16 + length
                with suppress(FileNotFoundError):  # renamed already: seen too late
                    self.modes.setdefault(name, mode_of(self.folder / name))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        os.close(self._fd)


def test_a_file_is_never_more_permissive_than_requested_while_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    names = [f"f{i}.conf" for i in range(8)]
    for name in names:
        (tmp_path / f"{name}.tmpl").write_text("s" * 4 * 1024 * 1024 + "${A}\n")
    args = ["--mode", "0600", *[a for n in names for a in ("-t", f"{n}.tmpl:out/{n}")]]
    watcher = _Watcher(out)
    try:
        run = render_with_umask(0o000, args, tmp_path, {"A": "1"})
    finally:
        watcher.close()
    assert run.returncode == 0, run.stderr
    temps = {name: mode for name, mode in watcher.modes.items() if name.endswith(".tmp")}
    assert temps, "no temporary file was seen while it was written"
    assert all(mode & ~0o600 == 0 for mode in temps.values()), {k: oct(v) for k, v in temps.items()}
    assert {mode_of(out / n) for n in names} == {0o600}


# --- symlinks and the output dir ---------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """Templates, an output dir, and a victim file outside it."""
    (tmp_path / "tpl").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "victim").write_text("victim\n")
    (tmp_path / "tpl" / "app.conf.tmpl").write_text("x=${A}\n")
    return tmp_path


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry under ``root``: file contents, link targets, directories."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = "-> " + os.readlink(path)
        elif path.is_file():
            found[rel] = path.read_bytes()
        else:
            found[rel] = "dir"
    return found


REFUSED: dict[str, tuple[list[str], str]] = {
    "dest-symlink-to-victim": (["-t", "tpl/app.conf.tmpl:out/app.conf"], "symlink"),
    "dangling-dest-symlink": (["-t", "tpl/app.conf.tmpl:out/new.conf"], "symlink"),
    "dotdot-out-of-output-dir": (
        ["--output-dir", "out", "-t", "tpl/app.conf.tmpl:../victim"], "outside"),
    "absolute-out-of-output-dir": (
        ["--output-dir", "out", "-t", "tpl/app.conf.tmpl:{root}/victim"], "outside"),
    "symlinked-subdir-leading-out": (
        ["--output-dir", "out", "-t", "tpl/app.conf.tmpl:sub/victim"], "outside"),
    "template-dir-link-leading-out": (
        ["--template-dir", "tpl", "--output-dir", "out"], "leaves template dir"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_symlinks_and_escapes_are_refused_and_nothing_is_written(case: str, site: Path) -> None:
    out = site / "out"
    (out / "app.conf").symlink_to(site / "victim")
    (out / "new.conf").symlink_to(site / "created-through-a-link")
    (out / "sub").symlink_to(site)
    if case == "template-dir-link-leading-out":
        (site / "tpl" / "app.conf.tmpl").unlink()
        (site / "tpl" / "evil.conf.tmpl").symlink_to(site / "victim")
    (out / "good.conf").write_text("old\n")
    args, reason = REFUSED[case]
    args = [a.replace("{root}", str(site)) for a in args]
    before = snapshot(site)
    run = envconf(["render", *args], cwd=site, env={"A": "1"})
    run.assert_no_traceback()
    assert run.returncode == 1
    assert reason in run.stderr
    assert snapshot(site) == before


def test_one_refused_destination_stops_every_write(site: Path) -> None:
    (site / "out" / "link.conf").symlink_to(site / "victim")
    (site / "out" / "good.conf").write_text("old\n")
    (site / "tpl" / "good.conf.tmpl").write_text("new\n")
    before = snapshot(site)
    run = envconf(
        ["render", "--output-dir", "out", "-t", "tpl/good.conf.tmpl:good.conf",
         "-t", "tpl/app.conf.tmpl:link.conf"], cwd=site, env={"A": "1"},
    )  # fmt: skip
    assert run.returncode == 1
    assert snapshot(site) == before


# --- SIGKILL at many points -------------------------------------------------------------------

FILES = 16
SIZE = 256 * 1024
KILLS = 16


def test_sigkill_at_any_point_leaves_old_or_new_content_never_a_mix(tmp_path: Path) -> None:
    """Kill the real command at spread-out moments of a 16-file render (4 MiB of output)."""
    out = tmp_path / "out"
    out.mkdir()
    names = [f"f{i:02}.conf" for i in range(FILES)]
    for name in names:
        (tmp_path / f"{name}.tmpl").write_text("n" * SIZE + "${END}")
    old, new = b"o" * SIZE + b"\n", b"n" * SIZE + b"\n"
    argv = [*ENVCONF, "render", "--mode", "0600"]
    argv += [a for n in names for a in ("-t", f"{n}.tmpl:out/{n}")]
    env = {**BASE_ENV, "END": "\n"}

    def reset() -> None:
        for path in out.iterdir():
            path.unlink()
        for name in names[: FILES // 2]:  # half exist beforehand, half are new
            (out / name).write_bytes(old)
            (out / name).chmod(0o600)

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)

    reset()
    began = time.perf_counter()
    assert start().wait(timeout=30) == 0
    duration = time.perf_counter() - began
    # Kill times spread evenly over 0.3x to 1.1x of a full run, the order shuffled.
    rounds = KILLS * 4
    delays = [(0.3 + 0.8 * i / (rounds - 1)) * duration for i in range(rounds)]
    random.Random(7).shuffle(delays)
    mid_write = 0
    # Timing on a loaded machine varies: keep killing (bounded) until a kill has landed in
    # the middle of the write: temporary files staged, or some files renamed and not others.
    for run, delay in enumerate(delays):
        if run >= KILLS and mid_write:
            break
        reset()
        proc = start()
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        state = []
        for index, name in enumerate(names):
            path = out / name
            allowed = (old, new) if index < FILES // 2 else (None, new)
            content = path.read_bytes() if path.exists() else None
            assert content in allowed, f"run {run}: {name} is neither old nor new"
            if content is not None:
                assert mode_of(path) == 0o600
            state.append(content == new)
        temps = temp_files(out)
        for temp in temps:  # a kill mid-write may leave one, never looser
            assert mode_of(temp) & ~0o600 == 0, temp
        mid_write += bool(temps) or (any(state) and not all(state))
    assert mid_write, "no kill landed in the middle of the write"


# --- a full disk ------------------------------------------------------------------------------


@contextmanager
def private_tmpfs_namespace() -> Iterator[list[str]]:
    """Yield the argv prefix of a private mount namespace (skip where none can be made)."""
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs root and util-linux unshare for a private mount namespace")
    prefix = [unshare, "--mount", "--propagation", "private"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"mount namespaces not permitted: {probe.stderr.decode().strip()}")
    yield prefix


FULL_DISK = r"""
set -u
out=$1; shift
mount -t tmpfs -o size=64k,mode=0755 tmpfs "$out"
printf 'old a\n' > "$out/a.conf"
printf 'old big\n' > "$out/big.conf"
printf 'old c\n' > "$out/c.conf"
"$@"
echo "status=$?"
ls -A "$out"
for f in a big c; do printf '%s=' "$f"; cat "$out/$f.conf"; done
"""


def test_a_full_disk_keeps_the_old_file_exits_1_and_leaves_no_temp_file(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "a.tmpl").write_text("new a\n")
    (tmp_path / "big.tmpl").write_text("B" * 256 * 1024 + "${A}\n")
    (tmp_path / "c.tmpl").write_text("new c\n")
    command = [*ENVCONF, "render", "-t", "a.tmpl:out/a.conf", "-t", "big.tmpl:out/big.conf",
               "-t", "c.tmpl:out/c.conf"]  # fmt: skip
    with private_tmpfs_namespace() as prefix:
        run = python(
            [*prefix, "sh", "-c", FULL_DISK, "sh", str(tmp_path / "out"), *command],
            cwd=tmp_path,
            env={"A": "1"},
        )
    run.assert_no_traceback()
    lines = run.stdout.splitlines()
    assert lines[0] == "status=1", run.stderr
    assert lines[1:4] == ["a.conf", "big.conf", "c.conf"]  # no temporary file left
    assert "big=old big" in lines  # the failing file keeps its old content
    assert "c=old c" in lines  # later files are not touched
    assert "a=old a" in lines  # all or nothing: staged files are never renamed
    assert f"{tmp_path}/out/big.conf" not in run.stderr or "big.conf: cannot write" in run.stderr
    assert "No space left on device [ENOSPC]" in run.stderr
    assert "already written" not in run.stderr
    assert list((tmp_path / "out").iterdir()) == []  # the tmpfs was private to the namespace
