"""Write rendered files all-or-nothing: check every destination, then replace each atomically.

Each file is written to a temporary file in its destination's directory and renamed over
the destination, so a reader (or SIGKILL) sees the complete old or the complete new
content, never a mix. With ``sync`` (``render --fsync``) each file is synced before the
renames and each directory after them, so a power loss cannot leave an empty file either:
for files rendered again at every start that is rarely worth one ``fsync`` per file (on
a shared disk, most of a render's time). A destination that is a symlink is never
written through, and with an output dir nothing lands outside it. A destination that
already holds exactly the output (a container restarted, a re-render) is left as it is,
inode and all: rewriting it would change nothing but wake whatever watches it.

Paths are ``str`` (:mod:`envconf.render.paths`), and nothing is imported that the
interpreter has not loaded already: ``envconf render`` runs at every container start.
"""

from __future__ import annotations

import errno
import os
import stat

from envconf.errors import RenderError
from envconf.records import TYPE_CHECKING
from envconf.render.paths import is_inside, join, landing_path, name, parent, real_path

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import NamedTuple
else:
    from envconf.records import NamedTuple

__all__ = [
    "Output",
    "check_destinations",
    "is_inside",
    "landing_path",
    "real_path",
    "write_outputs",
]

_TMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
# O_NONBLOCK: a FIFO swapped in for a destination must not block the check.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_DIR_MODE = 0o755


class Output(NamedTuple):
    """A rendered file waiting to be written: ``mode`` is its exact permission bits."""

    dest: str
    content: bytes
    mode: int


class _RefusedError(Exception):
    """A destination failed the guard at write time (it changed since it was checked)."""


def check_destinations(outputs: Sequence[Output], output_dir: str | None) -> list[str]:
    """Return every reason the outputs cannot be written; empty when all are fine.

    A destination is refused when it is an existing symlink (never written through),
    a directory or another non-regular file; when its parent directory, resolved, lies
    outside ``output_dir``; when its parent does not exist and is not to be created
    inside ``output_dir``; when its directory is not writable; or when two outputs name
    the same file. Nothing is changed on disk.
    """
    problems: list[str] = []
    root: str | None = None
    if output_dir is not None:
        root = real_path(output_dir)
        if not os.path.isdir(root):
            return [f"output dir {output_dir}: not an existing directory"]
    seen: dict[str, str] = {}
    known: dict[str, str] = {}
    for out in outputs:
        problems.extend(_check_one(out, root, known))
        if name(out.dest) not in ("", ".", ".."):
            landing = landing_path(out.dest, known)
            if landing in seen:
                problems.append(f"{out.dest}: also written as {seen[landing]}")
            seen.setdefault(landing, out.dest)
    return problems


def write_outputs(
    outputs: Sequence[Output],
    output_dir: str | None,
    warn: Callable[[str], None],
    *,
    sync: bool = False,
    keep_unchanged: bool = True,
    checked: bool = False,
) -> list[str]:
    """Check every destination, then write each output atomically, in order.

    ``checked`` says the caller has just had :func:`check_destinations` pass on these
    outputs, so it is not run twice (the write-time guards below still run).

    Returns the destinations written. With ``keep_unchanged``, a destination that is
    already a regular file with exactly the output's bytes and mode, owned by this
    process's user and group, is left untouched and not returned.

    Nothing is written unless every destination passes :func:`check_destinations`.
    Missing parent directories inside ``output_dir`` are then created (mode 0o755).
    Two phases: first *every* file is written to ``.envconf-<random>.tmp`` beside its
    destination (a short name, whatever the destination's length), created with
    ``O_EXCL|O_NOFOLLOW`` and set to exactly ``mode`` before any byte is written
    (whatever the umask), and with ``sync`` synced; only then is each renamed over its
    destination (and with ``sync`` each directory synced once after all its renames).
    A full disk, a file too large or a name the file system refuses is met in the first
    phase, before anything is replaced. Each directory is opened once, and the staging
    and the renames both work relative to that descriptor.

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
    problems = [] if checked else check_destinations(outputs, output_dir)
    if problems:
        raise RenderError(problems)
    root = real_path(output_dir) if output_dir is not None else None
    created: list[str] = []
    written: list[str] = []
    current: str | None = None
    staged: list[_Staged] = []
    dirs = _Directories(root)
    try:
        for out in outputs:
            current = out.dest
            _make_parents(out.dest, created)
        for out in outputs:
            current = out.dest
            dir_fd = dirs.fd(parent(out.dest))
            if not (keep_unchanged and _holds(dir_fd, name(out.dest), out, sync)):
                staged.append(_stage(out, dir_fd, sync))
        for item in staged:
            current = item.out.dest
            _commit(item, dirs.fd(parent(item.out.dest)), warn, sync)
            written.append(item.out.dest)
        current = None
        if sync:
            # Each directory once, after all its renames (the renames are atomic either
            # way): 21 files in one folder need one directory sync, not 21.
            for fd in {dirs.fd(parent(item.out.dest)) for item in staged}:
                os.fsync(fd)
    except (OSError, _RefusedError) as exc:
        _discard(staged, written, dirs)
        _remove_empty_dirs(created)
        reason = _describe(exc)
        failed = [
            f"{current}: cannot write: {reason}"
            if current is not None
            else f"cannot sync the output directories: {reason}"
        ]
        if written:
            failed.append(f"already written before the failure: {', '.join(written)}")
        raise RenderError(failed) from exc
    except BaseException:
        _discard(staged, written, dirs)
        _remove_empty_dirs(created)
        raise
    finally:
        dirs.close()
    return written


def _holds(dir_fd: int, base: str, out: Output, sync: bool) -> bool:
    """Whether the destination already is ``out``: a regular file with its bytes and mode.

    It must also belong to this process's user and group, as a file written now would.
    With ``sync`` a file kept is synced, as a file written would be (an earlier render
    without ``--fsync`` may have left it in the page cache only).
    """
    try:
        fd = os.open(base, _READ_FLAGS, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        if not (
            stat.S_ISREG(info.st_mode)
            and info.st_size == len(out.content)
            and stat.S_IMODE(info.st_mode) == out.mode
            and info.st_uid == os.geteuid()
            and info.st_gid == os.getegid()
        ):
            return False
        # One byte more than expected tells a file that grew since the fstat.
        if _read_upto(fd, len(out.content) + 1) != out.content:
            return False
        if sync:
            os.fsync(fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


class _Directories:
    """The destination directories, each opened once for a write (and checked, with a root).

    Working relative to an opened directory means a parent swapped for a symlink after
    the check cannot redirect the write, and the renames land where the staging did.
    """

    def __init__(self, root: str | None) -> None:
        self.root = root
        self._fds: dict[str, int] = {}

    def fd(self, directory: str) -> int:
        found = self._fds.get(directory)
        if found is not None:
            return found
        fd = os.open(directory, _DIR_FLAGS)
        self._fds[directory] = fd
        if self.root is not None:
            real = _fd_path(fd, directory)
            if not is_inside(real, self.root):
                raise _RefusedError(f"its directory now resolves to {real}, outside {self.root}")
        return fd

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


def _check_one(out: Output, root: str | None, known: dict[str, str]) -> list[str]:
    """Return the problems of one destination (see :func:`check_destinations`)."""
    dest = out.dest
    problems: list[str] = []
    if not 0 <= out.mode <= 0o7777:
        problems.append(f"{dest}: mode {out.mode:#o} is out of range (0 to 7777 octal)")
    if name(dest) in ("", ".", ".."):
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

    directory = parent(dest)
    existing, missing = _nearest_existing(directory)
    if missing and root is None:
        return [*problems, f"{dest}: directory {directory} does not exist"]
    if ".." in missing:
        return [*problems, f"{dest}: '..' below a directory that does not exist yet"]
    if not os.path.isdir(existing):
        return [*problems, f"{dest}: {existing} is not a directory"]
    landing_dir = join(real_path(existing, known), *missing)
    if root is not None and not is_inside(landing_dir, root):
        problems.append(f"{dest}: resolves to {join(landing_dir, name(dest))}, outside {root}")
    elif not _writable(existing):
        problems.append(f"{dest}: directory {existing} is not writable")
    return problems


def _nearest_existing(directory: str) -> tuple[str, list[str]]:
    """Return the nearest ancestor that exists (as a link or not) and the names below it."""
    missing: list[str] = []
    while not os.path.lexists(directory) and parent(directory) != directory:
        missing.insert(0, name(directory))
        directory = parent(directory)
    return directory, missing


def _writable(directory: str) -> bool:
    """Tell whether new files can be created in ``directory`` (EROFS counts as not)."""
    effective = os.access in os.supports_effective_ids
    return os.access(directory, os.W_OK | os.X_OK, effective_ids=effective)


def _make_parents(dest: str, created: list[str]) -> None:
    """Create the missing parent directories of ``dest`` with exactly mode 0o755."""
    directory, missing = _nearest_existing(parent(dest))
    for part in missing:
        directory = join(directory, part)
        os.mkdir(directory, _DIR_MODE)
        created.append(directory)
        fd = os.open(directory, _DIR_FLAGS | os.O_NOFOLLOW)
        try:
            os.fchmod(fd, _DIR_MODE)  # the umask must not make it 0o700
        finally:
            os.close(fd)


def _remove_empty_dirs(created: list[str]) -> None:
    for directory in reversed(created):
        try:
            os.rmdir(directory)
        except OSError:
            pass


class _Staged(NamedTuple):
    """An output written to its temporary file, waiting to be renamed over its destination."""

    out: Output
    tmp: str


def _stage(out: Output, dir_fd: int, sync: bool) -> _Staged:
    """Write ``out`` to a temporary file beside its destination, with its mode."""
    _refuse_symlink(dir_fd, name(out.dest))
    tmp = f".envconf-{os.urandom(8).hex()}.tmp"
    fd = os.open(tmp, _TMP_FLAGS, out.mode & 0o777, dir_fd=dir_fd)
    try:
        os.fchmod(fd, out.mode)
        _write_all(fd, out.content)
        if out.mode & 0o6000:
            os.fchmod(fd, out.mode)  # a write by a non-root user clears set-id bits
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        raise
    os.close(fd)
    return _Staged(out, tmp)


def _commit(item: _Staged, dir_fd: int, warn: Callable[[str], None], sync: bool) -> None:
    """Rename a staged file over its destination (in place for a bind-mounted file)."""
    dest = item.out.dest
    base = name(dest)
    _refuse_symlink(dir_fd, base)
    try:
        os.rename(item.tmp, base, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno != errno.EBUSY:
            raise
        _write_in_place(dir_fd, base, item.out, sync)
        try:
            os.unlink(item.tmp, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        warn(
            f"{dest}: written in place, not atomically: it is a bind-mounted"
            " single file (rename over it failed with EBUSY)"
        )


def _discard(staged: list[_Staged], written: list[str], dirs: _Directories) -> None:
    """Remove the temporary files that were not renamed."""
    done = set(written)
    for item in staged:
        if item.out.dest not in done:
            try:
                os.unlink(item.tmp, dir_fd=dirs.fd(parent(item.out.dest)))
            except (OSError, _RefusedError):
                pass


def _write_in_place(dir_fd: int, base: str, out: Output, sync: bool) -> None:
    """Overwrite an existing file that cannot be replaced (a bind-mount target)."""
    fd = os.open(base, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        # Before writing, so new content is never readable under looser old permissions;
        # the file may belong to the host, where changing its mode can be refused.
        try:
            os.fchmod(fd, out.mode)
        except OSError:
            pass
        _write_all(fd, out.content)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _refuse_symlink(dir_fd: int, base: str) -> None:
    try:
        st = os.lstat(base, dir_fd=dir_fd)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise _RefusedError("it is now a symlink; refusing to write through a symlink")
    if not stat.S_ISREG(st.st_mode):
        raise _RefusedError("it is no longer a regular file")


def _fd_path(dir_fd: int, fallback: str) -> str:
    """Return the real path of an open directory (``/proc``), else resolve ``fallback``."""
    try:
        return os.readlink(f"/proc/self/fd/{dir_fd}")
    except OSError:
        return real_path(fallback)


def _read_upto(fd: int, limit: int) -> bytes:
    """Read from ``fd`` until end of file or ``limit`` bytes."""
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = os.read(fd, left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        code = errno.errorcode.get(exc.errno or 0)
        return f"{exc.strerror} [{code}]" if code else exc.strerror
    return str(exc)
