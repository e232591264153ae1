"""Become the app: resolve the command, reset signal state and ``execve`` it.

envconf usually runs as PID 1 of a container; after rendering it replaces itself with
the app so the app keeps the PID and receives ``docker stop``'s SIGTERM directly.
This runs on every container start, so it imports only what the interpreter has loaded
already, plus ``_signal``: the ``signal`` module's functions without its ``IntEnum``
wrappers (``enum`` alone is ~3 ms of start-up); signal numbers are plain ints here.
"""

from __future__ import annotations

import errno
import os
import stat
import sys

from envconf.errors import EnvconfError
from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    import signal
    from collections.abc import Callable, Mapping, Sequence
    from types import FrameType
    from typing import Any, NoReturn, TypeAlias

    _Handler: TypeAlias = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None
else:
    import _signal as signal

__all__ = [
    "DEFAULT_PATH",
    "MAX_ARG_STRLEN",
    "ExecError",
    "check_exec_size",
    "exec_command",
    "python_signal_defaults",
    "reset_signals",
    "resolve_command",
    "shebang",
]

#: The PATH searched when the environment has none (Debian's and Docker's default).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: Linux's limit for one argv or environment string, terminating NUL included.
MAX_ARG_STRLEN = 131072

# Linux caps argv + envp at a quarter of the stack rlimit, and at 3/4 of _STK_LIM (8 MiB).
_STK_LIM = 8 * 1024 * 1024
_POINTER_SIZE = 8
_UNCATCHABLE = frozenset({signal.SIGKILL, signal.SIGSTOP})


class ExecError(EnvconfError):
    """The command could not be executed: 127 when it is missing, 126 otherwise."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def check_exec_size(argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """Return every reason ``execve(argv, env)`` would fail with E2BIG.

    Values are never shown (they may be secrets); variables are named, and arguments
    are given by position.
    """
    problems: list[str] = []
    sizes: dict[str, int] = {}
    total = 0
    for index, arg in enumerate(argv):
        size = len(os.fsencode(arg)) + 1
        total += size
        if size > MAX_ARG_STRLEN:
            problems.append(
                f"argument {index} is {size - 1} bytes; Linux allows at most "
                f"{MAX_ARG_STRLEN - 1} bytes in one argument"
            )
    for name, value in env.items():
        size = len(os.fsencode(name)) + len(os.fsencode(value)) + 2  # "=" and NUL
        sizes[name] = size
        total += size
        if size > MAX_ARG_STRLEN:
            problems.append(
                f"environment variable {name} is {size - 1} bytes as NAME=value; Linux "
                f"allows at most {MAX_ARG_STRLEN - 1} bytes in one variable (pass large "
                f"values in a file instead)"
            )
    total += (max(len(argv), 1) + len(env)) * _POINTER_SIZE
    limit = _arg_max()
    if total > limit:
        largest = sorted(sizes, key=sizes.__getitem__, reverse=True)[:3]
        hint = f" (largest variables: {', '.join(largest)})" if largest else ""
        problems.append(
            f"arguments and environment together are {total} bytes, more than the "
            f"{limit} bytes execve accepts{hint}"
        )
    return problems


def _arg_max() -> int:
    """Return the kernel's limit on argv + envp for the next execve."""
    # glibc's ARG_MAX is max(stack rlimit / 4, 128 KiB); the kernel also caps it at 3/4
    # of _STK_LIM. (os.sysconf rather than the resource module: os needs no extension
    # module, which an unprivileged user might not be allowed to load.)
    try:
        arg_max = os.sysconf("SC_ARG_MAX")
    except (OSError, ValueError):
        arg_max = -1
    cap = _STK_LIM // 4 * 3
    return cap if arg_max <= 0 else max(min(arg_max, cap), MAX_ARG_STRLEN)


def reset_signals() -> None:
    """Set every signal's disposition to SIG_DFL and unblock all signals.

    Python ignores SIGPIPE and SIGXFSZ and handles SIGINT; ignored signals survive
    ``execve``, so without this the app would silently ignore them too.
    """
    for signum in signal.valid_signals():
        if signum in _UNCATCHABLE:
            continue
        try:
            signal.signal(signum, signal.SIG_DFL)
        except OSError:  # a number the kernel refuses to change
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    _reset_reserved_signals()


#: rt_sigaction syscall numbers; both ABIs take a 32-byte kernel ``struct sigaction``.
_SYS_RT_SIGACTION = {"x86_64": 13, "aarch64": 134}


def _ignored_reserved_signals() -> list[int]:
    """Which of the glibc-reserved signals 32 and 33 this process has ignored."""
    try:
        with open("/proc/self/status", "rb") as status:
            line = next((raw for raw in status if raw.startswith(b"SigIgn:")), b"SigIgn: 0")
    except OSError:
        return []
    ignored = int(line.split()[1], 16)
    return [sig for sig in (32, 33) if ignored & (1 << (sig - 1))]


def _load_libc() -> Any:
    """Load libc through ctypes, only when a reserved signal needs resetting.

    Done when this module is imported, i.e. before ``--user`` drops privileges: the
    unprivileged user may not be able to read the interpreter's library directory.
    """
    if not _ignored_reserved_signals() or os.uname().machine not in _SYS_RT_SIGACTION:
        return None
    try:
        import ctypes
    except ImportError:
        return None
    return ctypes


_CTYPES = _load_libc()


def _reset_reserved_signals() -> None:
    """Reset signals 32 and 33 when a parent left them ignored.

    glibc reserves them for itself and its ``sigaction`` refuses to change them, yet an
    inherited "ignore" survives ``execve`` like any other; the raw syscall can reset it.
    """
    reserved = _ignored_reserved_signals()
    number = _SYS_RT_SIGACTION.get(os.uname().machine)
    if not reserved or number is None or _CTYPES is None:
        return
    libc = _CTYPES.CDLL(None, use_errno=True)
    default = _CTYPES.create_string_buffer(32)  # SIG_DFL, no flags, no restorer, empty mask
    for sig in reserved:
        libc.syscall(number, sig, default, None, 8)


def prepare_command(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """Resolve ``argv[0]`` and check that ``argv`` and ``env`` fit through ``execve``.

    Shared by exec (``render -- app``) and the supervisor (``--init``/``--watch``).

    Raises:
        ExecError: the command is missing (127), not executable, or too large (126).
    """
    path = resolve_command(argv[0], env)
    problems = check_exec_size(argv, env)
    if problems:
        raise ExecError(f"{argv[0]}: cannot execute: {'; '.join(problems)}", 126)
    return path


def exec_command(argv: Sequence[str], env: Mapping[str, str]) -> NoReturn:
    """Replace this process with ``argv``, found on ``env``'s PATH like ``execvp``.

    Signals are reset only right before ``execve``, and restored if it fails, so a
    failure is still reported normally. Unlike ``execvp``, a file without a ``#!`` line
    is not handed to ``/bin/sh``: that is an exec format error.

    Raises:
        ExecError: the command is missing (exit code 127), or cannot be executed (126).
    """
    if not argv:
        raise ValueError("exec_command needs a command")
    path = prepare_command(argv, env)
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is not None:
            try:
                stream.flush()
            except (OSError, ValueError):  # closed or broken pipe
                pass
    saved = _save_signals()
    try:
        reset_signals()
        os.execve(path, list(argv), dict(env))
    except OSError as exc:
        _restore_signals(saved)
        raise _exec_failure(argv[0], path, exc) from None
    except BaseException:
        _restore_signals(saved)
        raise


def resolve_command(command: str, env: Mapping[str, str]) -> str:
    """Return the file ``execvp`` would run for ``command`` with ``env``'s PATH.

    A command containing ``/`` is used as it is; otherwise each PATH entry is tried
    in order (an empty entry means the current directory), skipping directories and
    files without execute permission.

    Raises:
        ExecError: nothing was found (127) or only non-executable files were (126).
    """
    if not command:
        raise ExecError("'': command not found", 127)
    if "/" in command:
        try:
            mode = os.stat(command).st_mode
        except FileNotFoundError:
            raise ExecError(f"{command}: no such file or directory", 127) from None
        except OSError as exc:
            raise ExecError(f"{command}: {_strerror(exc)}", 126) from None
        if stat.S_ISDIR(mode):
            raise ExecError(f"{command}: is a directory", 126)
        if not os.access(command, os.X_OK) or not stat.S_ISREG(mode):
            raise ExecError(f"{command}: permission denied (not executable)", 126)
        return command
    denied: str | None = None
    for entry in env.get("PATH", DEFAULT_PATH).split(os.pathsep):
        candidate = f"{entry or '.'}/{command}"
        try:
            mode = os.stat(candidate).st_mode
        except OSError:
            continue
        if stat.S_ISDIR(mode):
            continue
        if stat.S_ISREG(mode) and os.access(candidate, os.X_OK):
            return candidate
        denied = denied or candidate
    if denied is not None:
        raise ExecError(f"{command}: permission denied ({denied} is not executable)", 126)
    raise ExecError(f"{command}: command not found", 127)


def _exec_failure(command: str, path: str, exc: OSError) -> ExecError:
    """Explain why ``execve(path)`` failed, in the shell's terms and exit codes."""
    shown = command if command == path else f"{command} ({path})"
    if exc.errno == errno.ENOENT:
        # The file exists (it was just found), so its interpreter or loader is missing.
        words = shebang(path)
        interpreter = words[0] if words else ""
        if interpreter:
            return ExecError(f"{shown}: bad interpreter {interpreter}: not found", 126)
        return ExecError(
            f"{shown}: cannot execute: its ELF interpreter (dynamic loader) is missing; "
            "was it built for another libc?",
            126,
        )
    if exc.errno == errno.ENOEXEC:
        return ExecError(
            f"{shown}: exec format error (a binary for another machine, or a script "
            "without a #! line)",
            126,
        )
    if exc.errno == errno.EACCES:
        return ExecError(f"{shown}: permission denied", 126)
    return ExecError(f"{shown}: {_strerror(exc)}", 126)


def shebang(path: str) -> list[str]:
    """Return the words of ``path``'s ``#!`` line (interpreter first), or ``[]``."""
    try:
        with open(path, "rb") as file:
            head = file.read(256)
    except OSError:
        return []
    if not head.startswith(b"#!"):
        return []
    return [os.fsdecode(word) for word in head[2:].split(b"\n", 1)[0].split()]


def python_signal_defaults() -> None:
    """Give signals the dispositions a fresh ``python`` starts with (``--in-process``).

    Everything default and unblocked, except what CPython itself sets up: SIGINT raises
    KeyboardInterrupt, SIGPIPE and SIGXFSZ are ignored (writes fail with an error instead).
    """
    reset_signals()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for name in ("SIGPIPE", "SIGXFSZ"):
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, signal.SIG_IGN)


def _strerror(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def _save_signals() -> tuple[dict[int, _Handler], set[int]]:
    handlers: dict[int, _Handler] = {}
    for signum in signal.valid_signals():
        if signum not in _UNCATCHABLE:
            try:
                handlers[signum] = signal.getsignal(signum)
            except (OSError, ValueError):
                pass
    mask = {int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, set())}
    return handlers, mask


def _restore_signals(saved: tuple[dict[int, _Handler], set[int]]) -> None:
    handlers, mask = saved
    for signum, handler in handlers.items():
        if handler is None:  # installed outside Python; the default is the best we can do
            continue
        try:
            signal.signal(signum, handler)
        except (OSError, ValueError, TypeError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
