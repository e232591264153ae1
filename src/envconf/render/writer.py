"""Write rendered files all-or-nothing: check every destination, then replace each atomically.

Each file is written to a temporary file in its destination's directory, flushed, synced
and renamed over the destination, so a reader (or a crash, or SIGKILL) sees the complete
old or the complete new content, never a mix. A destination that is a symlink is never
written through, and with an output dir nothing lands outside it.

Only the standard library may be imported here: ``envconf render`` must start fast.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import NamedTuple

from envconf.errors import RenderError

_TMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_DIR_MODE = 0o755


class Output(NamedTuple):
    """A rendered file waiting to be written: ``mode`` is its exact permission bits."""

    dest: Path
    content: bytes
    mode: int


class _RefusedError(Exception):
    """A destination failed the guard at write time (it changed since it was checked)."""


def real_path(path: Path) -> Path:
    """Return ``path`` absolute with ``..`` and every existing symlink resolved.

    Unlike ``Path.resolve`` on Python < 3.13, a symlink loop does not raise: the looping
    part is left as it is, and using the path later fails with ELOOP.
    """
    return Path(os.path.realpath(path))


def landing_path(dest: Path) -> Path:
    """Return where ``dest`` really lands: its parent resolved (``..``, links), name kept.

    The name itself is not resolved: a destination that is a symlink is refused, not
    followed.
    """
    return real_path(dest.parent) / dest.name


def is_inside(path: Path, root: Path) -> bool:
    """Tell whether the absolute, resolved ``path`` is ``root`` or below it."""
    return path == root or root in path.parents


def check_destinations(outputs: Sequence[Output], output_dir: Path | None) -> list[str]:
    """Return every reason the outputs cannot be written; empty when all are fine.

    A destination is refused when it is an existing symlink (never written through),
    a directory or another non-regular file; when its parent directory, resolved, lies
    outside ``output_dir``; when its parent does not exist and is not to be created
    inside ``output_dir``; when its directory is not writable; or when two outputs name
    the same file. Nothing is changed on disk.
    """
    problems: list[str] = []
    root: Path | None = None
    if output_dir is not None:
        root = real_path(output_dir)
        if not root.is_dir():
            return [f"output dir {output_dir}: not an existing directory"]
    seen: dict[Path, Path] = {}
    for out in outputs:
        problems.extend(_check_one(out, root))
        if out.dest.name not in ("", ".", ".."):
            landing = landing_path(out.dest)
            if landing in seen:
                problems.append(f"{out.dest}: also written as {seen[landing]}")
            seen.setdefault(landing, out.dest)
    return problems


def write_outputs(
    outputs: Sequence[Output], output_dir: Path | None, warn: Callable[[str], None]
) -> None:
    """Check every destination, then write each output atomically, in order.

    Nothing is written unless every destination passes :func:`check_destinations`.
    Missing parent directories inside ``output_dir`` are then created (mode 0o755).
    Two phases: first *every* file is written to ``.envconf-<random>.tmp`` beside its
    destination (a short name, whatever the destination's length), created with
    ``O_EXCL|O_NOFOLLOW`` and set to exactly ``mode`` before any byte is written
    (whatever the umask), and synced; only then is each renamed over its destination,
    and each directory synced once after all its renames. A full disk, a file too large
    or a name the file system refuses is met in the first phase, before anything is
    replaced.

    A destination that is a bind-mounted single file cannot be renamed over (EBUSY): it
    is then truncated and rewritten in place, which is not atomic, and ``warn`` is called
    with a message naming it.

    Failure ordering: if staging fails, every temporary file is removed and no
    destination changed. A rename failing in the second phase (a destination swapped for
    a symlink since the check) leaves the outputs renamed before it replaced, and the
    error names them; the rest keep their old content. Directories created for this call
    that are still empty are removed. Rendering happens before, in memory, so a template
    error never gets here.

    Raises:
        RenderError: a destination is refused (nothing written), or writing failed, naming
            the destination, the OS error and the files already replaced.
    """
    problems = check_destinations(outputs, output_dir)
    if problems:
        raise RenderError(problems)
    root = real_path(output_dir) if output_dir is not None else None
    created: list[Path] = []
    written: list[Path] = []
    current: Path | None = None
    staged: list[_Staged] = []
    try:
        for out in outputs:
            current = out.dest
            _make_parents(out.dest, created)
        for out in outputs:
            current = out.dest
            staged.append(_stage(out, root))
        for item in staged:
            current = item.out.dest
            _commit(item, warn)
            written.append(item.out.dest)
        current = None
        # Each directory is synced once, after all its renames (not once per file): the
        # renames are atomic either way, and 21 files in one folder need one sync, not 21.
        for directory in dict.fromkeys(out.dest.parent for out in outputs):
            _sync_dir(directory)
    except (OSError, _RefusedError) as exc:
        _discard(staged, written)
        _remove_empty_dirs(created)
        reason = _describe(exc)
        failed = [
            f"{current}: cannot write: {reason}"
            if current is not None
            else f"cannot sync the output directories: {reason}"
        ]
        if written:
            failed.append(f"already written before the failure: {', '.join(map(str, written))}")
        raise RenderError(failed) from exc
    except BaseException:
        _discard(staged, written)
        _remove_empty_dirs(created)
        raise


def _sync_dir(directory: Path) -> None:
    """Make the renames in ``directory`` durable."""
    fd = os.open(directory, _DIR_FLAGS)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_one(out: Output, root: Path | None) -> list[str]:
    """Return the problems of one destination (see :func:`check_destinations`)."""
    dest = out.dest
    problems: list[str] = []
    if not 0 <= out.mode <= 0o7777:
        problems.append(f"{dest}: mode {out.mode:#o} is out of range (0 to 7777 octal)")
    if dest.name in ("", ".", ".."):
        return [*problems, f"{dest}: not a file name"]
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        pass
    except OSError as exc:
        return [*problems, f"{dest}: {_describe(exc)}"]
    else:
        if stat.S_ISLNK(st.st_mode):
            problems.append(f"{dest}: is a symlink; refusing to write through a symlink")
        elif stat.S_ISDIR(st.st_mode):
            problems.append(f"{dest}: is a directory")
        elif not stat.S_ISREG(st.st_mode):
            problems.append(f"{dest}: not a regular file")

    existing, missing = _nearest_existing(dest.parent)
    if missing and root is None:
        return [*problems, f"{dest}: directory {dest.parent} does not exist"]
    if ".." in missing:
        return [*problems, f"{dest}: '..' below a directory that does not exist yet"]
    if not existing.is_dir():
        return [*problems, f"{dest}: {existing} is not a directory"]
    landing_dir = real_path(existing).joinpath(*missing)
    if root is not None and not is_inside(landing_dir, root):
        problems.append(f"{dest}: resolves to {landing_dir / dest.name}, outside {root}")
    elif not _writable(existing):
        problems.append(f"{dest}: directory {existing} is not writable")
    return problems


def _nearest_existing(directory: Path) -> tuple[Path, list[str]]:
    """Return the nearest ancestor that exists (as a link or not) and the names below it."""
    missing: list[str] = []
    while not os.path.lexists(directory) and directory.parent != directory:
        missing.insert(0, directory.name)
        directory = directory.parent
    return directory, missing


def _writable(directory: Path) -> bool:
    """Tell whether new files can be created in ``directory`` (EROFS counts as not)."""
    effective = os.access in os.supports_effective_ids
    return os.access(directory, os.W_OK | os.X_OK, effective_ids=effective)


def _make_parents(dest: Path, created: list[Path]) -> None:
    """Create the missing parent directories of ``dest`` with exactly mode 0o755."""
    _, missing = _nearest_existing(dest.parent)
    directory = dest.parent
    for _ in missing:
        directory = directory.parent
    for name in missing:
        directory = directory / name
        directory.mkdir(_DIR_MODE)
        created.append(directory)
        fd = os.open(directory, _DIR_FLAGS | os.O_NOFOLLOW)
        try:
            os.fchmod(fd, _DIR_MODE)  # the umask must not make it 0o700
        finally:
            os.close(fd)


def _remove_empty_dirs(created: list[Path]) -> None:
    for directory in reversed(created):
        with suppress(OSError):
            directory.rmdir()


class _Staged(NamedTuple):
    """An output written to its temporary file, waiting to be renamed over its destination."""

    out: Output
    tmp: str


def _stage(out: Output, root: Path | None) -> _Staged:
    """Write ``out`` to a temporary file beside its destination, with its mode, synced."""
    dest = out.dest
    # Working relative to an opened directory means a parent swapped for a symlink after
    # the check cannot redirect the write.
    dir_fd = os.open(dest.parent, _DIR_FLAGS)
    try:
        if root is not None:
            real = _fd_path(dir_fd, dest.parent)
            if not is_inside(real, root):
                raise _RefusedError(f"its directory now resolves to {real}, outside {root}")
        _refuse_symlink(dir_fd, dest.name)
        tmp = f".envconf-{os.urandom(8).hex()}.tmp"
        fd = os.open(tmp, _TMP_FLAGS, out.mode & 0o777, dir_fd=dir_fd)
        try:
            os.fchmod(fd, out.mode)
            _write_all(fd, out.content)
            if out.mode & 0o6000:
                os.fchmod(fd, out.mode)  # a write by a non-root user clears set-id bits
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
        os.close(fd)
        return _Staged(out, tmp)
    finally:
        os.close(dir_fd)


def _commit(item: _Staged, warn: Callable[[str], None]) -> None:
    """Rename a staged file over its destination (in place for a bind-mounted file)."""
    dest = item.out.dest
    dir_fd = os.open(dest.parent, _DIR_FLAGS)
    try:
        _refuse_symlink(dir_fd, dest.name)
        try:
            os.rename(item.tmp, dest.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                raise
            _write_in_place(dir_fd, dest.name, item.out)
            with suppress(FileNotFoundError):
                os.unlink(item.tmp, dir_fd=dir_fd)
            warn(
                f"{dest}: written in place, not atomically: it is a bind-mounted"
                " single file (rename over it failed with EBUSY)"
            )
    finally:
        os.close(dir_fd)


def _discard(staged: list[_Staged], written: list[Path]) -> None:
    """Remove the temporary files that were not renamed."""
    done = set(written)
    for item in staged:
        if item.out.dest not in done:
            with suppress(OSError):
                os.unlink(item.out.dest.parent / item.tmp)


def _write_in_place(dir_fd: int, name: str, out: Output) -> None:
    """Overwrite an existing file that cannot be replaced (a bind-mount target)."""
    fd = os.open(name, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        # Before writing, so new content is never readable under looser old permissions;
        # the file may belong to the host, where changing its mode can be refused.
        with suppress(OSError):
            os.fchmod(fd, out.mode)
        _write_all(fd, out.content)
        os.fsync(fd)
    finally:
        os.close(fd)


def _refuse_symlink(dir_fd: int, name: str) -> None:
    try:
        st = os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise _RefusedError("it is now a symlink; refusing to write through a symlink")
    if not stat.S_ISREG(st.st_mode):
        raise _RefusedError("it is no longer a regular file")


def _fd_path(dir_fd: int, fallback: Path) -> Path:
    """Return the real path of an open directory (``/proc``), else resolve ``fallback``."""
    try:
        return Path(f"/proc/self/fd/{dir_fd}").readlink()
    except OSError:
        return real_path(fallback)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        name = errno.errorcode.get(exc.errno or 0)
        return f"{exc.strerror} [{name}]" if name else exc.strerror
    return str(exc)
