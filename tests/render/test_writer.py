"""Atomic, all-or-nothing writes: exact modes, the symlink and output-dir guard, failures.

Failures are produced for real (a file size limit, a full tmpfs, a bind-mounted file), in
a subprocess, rather than by mocking ``os``.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from envconf.errors import RenderError
from envconf.render import writer
from envconf.render.writer import Output, check_destinations, write_outputs


def no_warnings(message: str) -> None:
    raise AssertionError(f"unexpected warning: {message}")


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*.envconf-*.tmp"))


@pytest.fixture
def out(tmp_path: Path) -> Path:
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


@pytest.fixture
def umask() -> Iterator[None]:
    """Restore the process umask after a test that changes it."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def run_python(code: str, *, mount_namespace: bool = False) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter (optionally in a private mount namespace).

    The code prints one JSON object as its last line, which is returned.
    """
    argv = [sys.executable, "-c", textwrap.dedent(code)]
    if mount_namespace:
        unshare = shutil.which("unshare")
        if unshare is None:
            pytest.skip("needs util-linux unshare for a private mount namespace")
        probe = subprocess.run(
            [unshare, "--mount", "--propagation", "private", "true"], capture_output=True
        )
        if probe.returncode != 0:
            pytest.skip(f"mount namespaces not permitted: {probe.stderr.decode().strip()}")
        argv = [unshare, "--mount", "--propagation", "private", *argv]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.splitlines()[-1])
    return result


# --- the happy path --------------------------------------------------------------------


def test_writes_new_files_and_replaces_existing_ones(out: Path) -> None:
    (out / "old.conf").write_bytes(b"old")
    write_outputs(
        [
            Output(str(out / "old.conf"), b"new", 0o644),
            Output(str(out / "fresh.conf"), b"x\n", 0o600),
        ],
        out,
        no_warnings,
    )
    assert (out / "old.conf").read_bytes() == b"new"
    assert (out / "fresh.conf").read_bytes() == b"x\n"
    assert leftovers(out) == []


def test_absolute_dest_without_output_dir_is_fine(tmp_path: Path) -> None:
    write_outputs([Output(str(tmp_path / "app.conf"), b"a", 0o644)], None, no_warnings)
    assert (tmp_path / "app.conf").read_bytes() == b"a"


def test_empty_content_is_written(out: Path) -> None:
    (out / "a").write_bytes(b"something")
    write_outputs([Output(str(out / "a"), b"", 0o644)], out, no_warnings)
    assert (out / "a").read_bytes() == b""


@pytest.mark.usefixtures("umask")
@pytest.mark.parametrize("mask", [0o000, 0o077, 0o022])
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o755, 0o000, 0o2750])
def test_mode_is_exactly_as_requested_whatever_the_umask(out: Path, mask: int, mode: int) -> None:
    (out / "existing").write_bytes(b"old")
    (out / "existing").chmod(0o777)
    os.umask(mask)
    write_outputs(
        [Output(str(out / "existing"), b"new", mode), Output(str(out / "fresh"), b"new", mode)],
        out,
        no_warnings,
    )
    assert (out / "existing").stat().st_mode & 0o7777 == mode
    assert (out / "fresh").stat().st_mode & 0o7777 == mode


@pytest.mark.usefixtures("umask")
def test_missing_parent_dirs_inside_output_dir_are_created_0755(out: Path) -> None:
    os.umask(0o077)
    write_outputs([Output(str(out / "a" / "b" / "c.conf"), b"c", 0o600)], out, no_warnings)
    assert (out / "a" / "b" / "c.conf").read_bytes() == b"c"
    assert (out / "a").stat().st_mode & 0o7777 == 0o755
    assert (out / "a" / "b").stat().st_mode & 0o7777 == 0o755


# --- the guard -------------------------------------------------------------------------


def test_existing_symlink_dest_is_refused_and_its_target_untouched(
    tmp_path: Path, out: Path
) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"precious")
    (out / "app.conf").symlink_to(target)
    with pytest.raises(RenderError, match="refusing to write through a symlink"):
        write_outputs([Output(str(out / "app.conf"), b"evil", 0o644)], out, no_warnings)
    assert target.read_bytes() == b"precious"
    assert (out / "app.conf").is_symlink()


def test_symlink_dest_is_refused_without_output_dir_too(tmp_path: Path) -> None:
    (tmp_path / "target").write_bytes(b"precious")
    (tmp_path / "link").symlink_to("target")
    problems = check_destinations([Output(str(tmp_path / "link"), b"x", 0o644)], None)
    assert problems == [f"{tmp_path / 'link'}: is a symlink; refusing to write through a symlink"]


def test_dangling_symlink_dest_is_refused(out: Path, tmp_path: Path) -> None:
    (out / "app.conf").symlink_to(tmp_path / "would-be-created")
    with pytest.raises(RenderError, match="symlink"):
        write_outputs([Output(str(out / "app.conf"), b"x", 0o644)], out, no_warnings)
    assert not (tmp_path / "would-be-created").exists()


def test_symlinked_parent_dir_escaping_output_dir_is_refused(tmp_path: Path, out: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "conf.d").symlink_to(elsewhere)
    with pytest.raises(RenderError, match="outside"):
        write_outputs([Output(str(out / "conf.d" / "x.conf"), b"x", 0o644)], out, no_warnings)
    assert list(elsewhere.iterdir()) == []


def test_missing_dirs_below_an_escaping_symlink_are_refused(tmp_path: Path, out: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "link").symlink_to(elsewhere)
    with pytest.raises(RenderError, match="outside"):
        write_outputs([Output(str(out / "link" / "new" / "x"), b"x", 0o644)], out, no_warnings)
    assert list(elsewhere.iterdir()) == []


def test_dest_outside_output_dir_is_refused(tmp_path: Path, out: Path) -> None:
    problems = check_destinations([Output(str(tmp_path / "x.conf"), b"x", 0o644)], out)
    assert len(problems) == 1 and "outside" in problems[0]


def test_dest_that_is_a_directory_is_refused(out: Path) -> None:
    (out / "app.conf").mkdir()
    assert check_destinations([Output(str(out / "app.conf"), b"x", 0o644)], out) == [
        f"{out / 'app.conf'}: is a directory"
    ]


def test_missing_parent_without_output_dir_is_refused(tmp_path: Path) -> None:
    problems = check_destinations([Output(str(tmp_path / "no" / "x"), b"x", 0o644)], None)
    assert problems == [f"{tmp_path / 'no' / 'x'}: directory {tmp_path / 'no'} does not exist"]


def test_parent_that_is_a_file_is_refused(out: Path) -> None:
    (out / "file").write_bytes(b"")
    problems = check_destinations([Output(str(out / "file" / "x"), b"x", 0o644)], out)
    assert len(problems) == 1 and "Not a directory" in problems[0]


def test_two_outputs_for_one_file_are_refused(out: Path) -> None:
    (out / "sub").mkdir()
    problems = check_destinations(
        [Output(str(out / "a"), b"1", 0o644), Output(str(out / "sub" / ".." / "a"), b"2", 0o644)],
        out,
    )
    assert len(problems) == 1 and "also written as" in problems[0]


def test_missing_output_dir_is_refused(tmp_path: Path) -> None:
    problems = check_destinations([Output(str(tmp_path / "a"), b"1", 0o644)], tmp_path / "nope")
    assert problems == [f"output dir {tmp_path / 'nope'}: not an existing directory"]


def test_nothing_is_written_when_one_of_several_dests_is_bad(tmp_path: Path, out: Path) -> None:
    (out / "first").write_bytes(b"old")
    (tmp_path / "target").write_bytes(b"precious")
    (out / "second").symlink_to(tmp_path / "target")
    outputs = [
        Output(str(out / "first"), b"new", 0o644),
        Output(str(out / "new-dir" / "third"), b"new", 0o644),
        Output(str(out / "second"), b"new", 0o644),
        Output(str(out / "adir"), b"new", 0o644),
    ]
    (out / "adir").mkdir()
    with pytest.raises(RenderError) as exc:
        write_outputs(outputs, out, no_warnings)
    assert len(exc.value.problems) == 2  # every bad destination is named, not just the first
    assert (out / "first").read_bytes() == b"old"
    assert not (out / "new-dir").exists()
    assert (tmp_path / "target").read_bytes() == b"precious"
    assert leftovers(out) == []


def test_write_time_guard_refuses_a_dest_swapped_for_a_symlink_after_the_check(
    tmp_path: Path, out: Path
) -> None:
    """The guard runs again per file, just before staging it (a swap after the check)."""
    (tmp_path / "target").write_bytes(b"precious")
    (out / "app.conf").symlink_to(tmp_path / "target")
    dirs = writer._Directories(str(out.resolve()))
    with pytest.raises(writer._RefusedError, match="symlink"):
        writer._stage(Output(str(out / "app.conf"), b"x", 0o644), dirs.fd(str(out)), False)
    dirs.close()
    assert (tmp_path / "target").read_bytes() == b"precious"
    assert leftovers(out) == []


def test_write_time_guard_refuses_a_parent_swapped_to_leave_output_dir(
    tmp_path: Path, out: Path
) -> None:
    """Each directory is checked when it is opened for the writes, before any staging."""
    (tmp_path / "elsewhere").mkdir()
    (out / "sub").symlink_to(tmp_path / "elsewhere")
    dirs = writer._Directories(str(out.resolve()))
    with pytest.raises(writer._RefusedError, match="outside"):
        dirs.fd(str(out / "sub"))
    dirs.close()
    assert list((tmp_path / "elsewhere").iterdir()) == []


# --- real failures while writing -------------------------------------------------------


def test_a_failure_while_staging_changes_no_file_and_cleans_temp_files(out: Path) -> None:
    """A file size limit (EFBIG) makes the second of three files fail for real."""
    for name in ("a", "b", "c"):
        (out / name).write_bytes(b"old")
    result = run_python(
        f"""
        import json, resource, signal
        from pathlib import Path
        from envconf.errors import RenderError
        from envconf.render.writer import Output, write_outputs

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
        out = Path({str(out)!r})
        outputs = [
            Output(str(out / "a"), b"new", 0o644),
            Output(str(out / "b"), b"B" * 200_000, 0o644),
            Output(str(out / "c"), b"new", 0o644),
        ]
        try:
            write_outputs(outputs, out, print)
            print(json.dumps({{"raised": None}}))
        except RenderError as exc:
            print(json.dumps({{"raised": [str(p) for p in exc.problems]}}))
        """
    )
    problems = result["raised"]
    assert isinstance(problems, list) and len(problems) == 1  # nothing was replaced
    assert problems[0].startswith(f"{out / 'b'}: cannot write: File too large [EFBIG]")
    assert (out / "a").read_bytes() == b"old"  # staged, never renamed
    assert (out / "b").read_bytes() == b"old"
    assert (out / "c").read_bytes() == b"old"
    assert leftovers(out) == []


def test_full_disk_keeps_old_content_and_leaves_no_temp_file(tmp_path: Path) -> None:
    """ENOSPC on a real 64 KiB tmpfs, mounted in a private mount namespace."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    result = run_python(
        f"""
        import json, subprocess
        from pathlib import Path
        from envconf.errors import RenderError
        from envconf.render.writer import Output, write_outputs

        mnt = Path({str(mnt)!r})
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], check=True)
        (mnt / "small").write_bytes(b"old small")
        (mnt / "big").write_bytes(b"old big")
        outputs = [Output(str(mnt / "small"), b"new small", 0o644),
                   Output(str(mnt / "big"), b"B" * 256 * 1024, 0o644)]
        try:
            write_outputs(outputs, mnt, print)
            raised = None
        except RenderError as exc:
            raised = [str(p) for p in exc.problems]
        print(json.dumps({{
            "raised": raised,
            "small": (mnt / "small").read_text(),
            "big": (mnt / "big").read_text(),
            "names": sorted(p.name for p in mnt.iterdir()),
        }}))
        """,
        mount_namespace=True,
    )
    problems = result["raised"]
    assert isinstance(problems, list)
    assert problems == [f"{mnt / 'big'}: cannot write: No space left on device [ENOSPC]"]
    assert result["small"] == "old small"  # all or nothing
    assert result["big"] == "old big"
    assert result["names"] == ["big", "small"]


def test_bind_mounted_single_file_is_written_in_place_with_a_warning(tmp_path: Path) -> None:
    """``docker run -v ./app.conf:/etc/app.conf``: rename over a mount point is EBUSY."""
    host_file = tmp_path / "host-app.conf"
    host_file.write_bytes(b"old content that is longer than the new one")
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "app.conf").write_bytes(b"")
    result = run_python(
        f"""
        import json, os, subprocess
        from pathlib import Path
        from envconf.render.writer import Output, write_outputs

        etc = Path({str(etc)!r})
        subprocess.run(["mount", "--bind", {str(host_file)!r}, str(etc / "app.conf")],
                       check=True)
        warnings = []
        write_outputs([Output(str(etc / "app.conf"), b"new", 0o640)], etc, warnings.append)
        print(json.dumps({{
            "warnings": warnings,
            "content": (etc / "app.conf").read_text(),
            "mode": os.stat(etc / "app.conf").st_mode & 0o7777,
            "names": sorted(p.name for p in etc.iterdir()),
        }}))
        """,
        mount_namespace=True,
    )
    warnings = result["warnings"]
    assert isinstance(warnings, list) and len(warnings) == 1
    assert str(etc / "app.conf") in warnings[0] and "not atomically" in warnings[0]
    assert "EBUSY" in warnings[0]
    assert result["content"] == "new"
    assert result["mode"] == 0o640
    assert result["names"] == ["app.conf"]
    assert host_file.read_bytes() == b"new"  # written through the mount to the host file
    assert (etc / "app.conf").read_bytes() == b""  # the mount point itself was not replaced


def test_fsync_is_asked_for_each_file_and_directory_only_with_sync(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    outputs = [Output(str(out / "a"), b"a", 0o644), Output(str(out / "b"), b"b", 0o644)]
    write_outputs(outputs, str(out), no_warnings)
    assert synced == []
    outputs = [item._replace(content=b"new") for item in outputs]
    write_outputs(outputs, str(out), no_warnings, sync=True)
    assert len(synced) == 3  # two files, then their directory once
    synced.clear()
    assert write_outputs(outputs, str(out), no_warnings, sync=True) == []
    assert len(synced) == 2  # each file kept is synced too; no rename, no directory sync
    assert (out / "a").read_bytes() == b"new"


def test_a_destination_already_holding_the_output_is_left_untouched(out: Path) -> None:
    outputs = [Output(str(out / "same"), b"same", 0o640), Output(str(out / "new"), b"v1", 0o644)]
    assert write_outputs(outputs, str(out), no_warnings) == [str(out / "same"), str(out / "new")]
    before = {p.name: p.stat() for p in out.iterdir()}
    outputs[1] = outputs[1]._replace(content=b"v2")
    assert write_outputs(outputs, str(out), no_warnings) == [str(out / "new")]
    after = {p.name: p.stat() for p in out.iterdir()}
    assert after["same"].st_ino == before["same"].st_ino
    assert after["same"].st_mtime_ns == before["same"].st_mtime_ns
    assert after["new"].st_ino != before["new"].st_ino
    assert (out / "new").read_bytes() == b"v2"
    assert sorted(after) == ["new", "same"]  # no temporary file left


@pytest.mark.parametrize(
    "change",
    [
        lambda path: path.chmod(0o600),  # another mode
        lambda path: path.write_bytes(b"samf"),  # same size, other bytes
        lambda path: path.write_bytes(b"same\n"),  # longer
        lambda path: path.write_bytes(b"sam"),  # shorter
    ],
)
def test_a_destination_that_differs_in_bytes_or_mode_is_rewritten(
    out: Path, change: Callable[[Path], object]
) -> None:
    output = Output(str(out / "f"), b"same", 0o640)
    write_outputs([output], str(out), no_warnings)
    change(out / "f")
    inode = (out / "f").stat().st_ino
    assert write_outputs([output], str(out), no_warnings) == [str(out / "f")]
    assert (out / "f").read_bytes() == b"same"
    assert stat.S_IMODE((out / "f").stat().st_mode) == 0o640
    assert (out / "f").stat().st_ino != inode


def test_a_destination_owned_by_another_user_is_rewritten(out: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the file away")
    output = Output(str(out / "f"), b"x", 0o644)
    write_outputs([output], str(out), no_warnings)
    os.chown(out / "f", 12345, 12345)
    assert write_outputs([output], str(out), no_warnings) == [str(out / "f")]
    assert (out / "f").stat().st_uid == os.geteuid()


def test_keep_unchanged_false_rewrites_every_destination(out: Path) -> None:
    output = Output(str(out / "f"), b"x", 0o644)
    write_outputs([output], str(out), no_warnings)
    inode = (out / "f").stat().st_ino
    assert write_outputs([output], str(out), no_warnings, keep_unchanged=False) == [str(out / "f")]
    assert (out / "f").stat().st_ino != inode
