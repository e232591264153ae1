"""``envconf render --init``: stay PID 1 as a minimal init, the way tini does.

Without ``--init`` envconf execs the app, which then is PID 1 itself. Some apps are bad
at that job: they ignore SIGTERM (the kernel gives PID 1 no default actions) or never
reap the orphans their children leave. With ``--init`` (implied by ``--watch``) envconf
stays PID 1 and:

* starts the app as its child, in a new process group (not a new session) that owns the
  terminal when there is one, so Ctrl-C reaches the app once; the child gets default
  signal dispositions and an empty signal mask, and with ``--user`` only the child drops
  privileges (envconf keeps root, so a ``--watch`` re-render can still read root-only
  secrets);
* forwards every signal it receives to the app (SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1,
  SIGUSR2, SIGWINCH, SIGCONT, SIGTSTP, SIGALRM, real-time signals, ...), except SIGCHLD,
  the faults a process raises on itself (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP,
  SIGSYS), SIGPIPE and SIGXFSZ (which only envconf's own writes raise), SIGTTIN and SIGTTOU
  (left at their defaults, like tini), and SIGKILL and SIGSTOP, which nobody can catch;
* reaps every child that exits, orphans re-parented to it included (when it is not PID 1
  it registers as a child subreaper, so this still holds under ``docker run --init``);
* exits with the app's status, or 128+N when a signal N killed it. Other processes still
  running then are killed by the kernel when PID 1 exits, as with tini.

Signal handlers do no work: they are no-ops, and ``signal.set_wakeup_fd`` wakes the loop,
which reads the signal numbers and forwards them or reaps. Only the standard library is
imported here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

from envconf.render.process import ExecError, prepare_command, reset_signals

if TYPE_CHECKING:
    import subprocess

__all__ = ["FORWARDED", "Supervisor", "exit_status", "forwarded_signals"]

Log = Callable[[str], None]

#: Signals envconf does not forward (see the module docstring for why).
NOT_FORWARDED = frozenset(
    {signal.SIGCHLD, signal.SIGKILL, signal.SIGSTOP, signal.SIGPIPE, signal.SIGXFSZ}
    | {signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGABRT}
    | {signal.SIGTRAP, signal.SIGSYS, signal.SIGTTIN, signal.SIGTTOU}
)
#: glibc keeps these for its threads; Python may not set handlers for them.
_RESERVED = frozenset({32, 33})
_PR_SET_CHILD_SUBREAPER = 36
#: Seconds the loop sleeps at most: a lost wake-up byte can delay reaping no longer.
_LOOP_TIMEOUT = 1.0


def forwarded_signals() -> frozenset[int]:
    """Return every signal number ``--init`` forwards to the app."""
    return frozenset(
        int(s) for s in signal.valid_signals() if s not in NOT_FORWARDED and s not in _RESERVED
    )


FORWARDED = forwarded_signals()


def exit_status(wait_status: int) -> int:
    """Turn a ``waitpid`` status into a shell-style exit status (128+N for signal N)."""
    code = os.waitstatus_to_exitcode(wait_status)
    return 128 - code if code < 0 else code


def _noop(signum: int, frame: FrameType | None) -> None:
    """The handler of every supervised signal: the wake-up fd does the work."""


class Supervisor:
    """Run one app as a child and supervise it until it exits; see the module docstring.

    Usage: :meth:`start` the app, optionally :meth:`add_reader` more file descriptors
    (``--watch`` adds the watcher's), then :meth:`run` returns the app's exit status.
    :meth:`close` restores signal handlers; call it in a ``finally``.
    """

    def __init__(self, log: Log) -> None:
        self._log = log
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._readers: dict[int, Callable[[], None]] = {}
        self._helpers: dict[int, tuple[subprocess.Popen[bytes], Callable[[int], None]]] = {}
        self._saved: dict[int, Any] = {}
        self._saved_wakeup: int | None = None
        self.app_pid: int | None = None
        self._status: int | None = None

    # --- starting the app ------------------------------------------------------------

    def start(self, argv: Sequence[str], env: Mapping[str, str], user: str | None = None) -> int:
        """Start ``argv`` as the supervised app and return its PID.

        Raises:
            ExecError: the command is missing (127), cannot be executed (126), or the
                switch to ``user`` failed (1), as for the exec path.
        """
        if not argv:
            raise ValueError("Supervisor.start needs a command")
        path = prepare_command(argv, env)
        if os.getpid() != 1:
            self._become_subreaper()
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: the fd was closed when Python started
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED | {signal.SIGCHLD})
        try:
            # Handlers go in before the fork, with the signals blocked: one that arrives
            # meanwhile is forwarded once the loop runs, never lost or acted on by envconf.
            self._install_handlers()
            err_r, err_w = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child execs or exits
                os.close(err_r)
                self._child(path, argv, env, user, err_w)
            os.close(err_w)
            failure = _read_all(err_r)
            os.close(err_r)
            if failure:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
                code, _, message = failure.decode(errors="replace").partition("\0")
                raise ExecError(message, int(code))
            self.app_pid = pid
            return pid
        except BaseException:
            self.close()
            raise
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    @staticmethod
    def _child(
        path: str, argv: Sequence[str], env: Mapping[str, str], user: str | None, err_w: int
    ) -> None:  # pragma: no cover - runs in the forked child
        """Become the app: own process group and terminal, user, clean signals, execve."""
        code, message = 126, "cannot start the app"
        try:
            signal.set_wakeup_fd(-1)
            os.setpgid(0, 0)
            with contextlib.suppress(OSError):
                # Foreground on a terminal (docker run -t); allowed while SIGTTOU is blocked.
                if os.isatty(0):
                    os.tcsetpgrp(0, os.getpgrp())
            child_env = dict(env)
            if user:
                from envconf.render.privileges import drop_privileges

                drop_privileges(user, child_env)
            reset_signals()
            os.execve(path, list(argv), child_env)
        except OSError as exc:
            from envconf.render.process import _exec_failure

            failure = _exec_failure(argv[0], path, exc)
            code, message = failure.exit_code, str(failure)
        except BaseException as exc:
            code = int(getattr(exc, "exit_code", 1))
            message = str(exc)
        with contextlib.suppress(OSError):
            os.write(err_w, f"{code}\0{message}".encode(errors="replace"))
        os._exit(code)

    def _install_handlers(self) -> None:
        for signum in (*FORWARDED, signal.SIGCHLD):
            try:
                self._saved[signum] = signal.signal(signum, _noop)
            except (OSError, ValueError):
                continue
        self._saved_wakeup = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)

    def _become_subreaper(self) -> None:
        """Adopt orphans even when not PID 1 (as tini's ``-s``); warn when impossible."""
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0:
                return
            reason = os.strerror(ctypes.get_errno())
        except (OSError, AttributeError, ImportError) as exc:
            reason = str(exc)
        self._log(
            f"warning: not PID 1 and cannot become a child subreaper ({reason}); "
            "orphaned processes will not be reaped by envconf"
        )

    # --- helpers and the loop ----------------------------------------------------------

    def add_reader(self, fd: int, callback: Callable[[], None]) -> None:
        """Call ``callback`` from the loop whenever ``fd`` is readable."""
        self._readers[fd] = callback
        self._selector.register(fd, selectors.EVENT_READ)

    def spawn_helper(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        on_exit: Callable[[int], None],
        *,
        user: str | None = None,
    ) -> int:
        """Start a helper command (``--reload-command``) without waiting for it.

        It gets default signal handling (as after any exec, plus SIGPIPE and SIGXFSZ
        restored) and runs as ``user`` when given. The loop reaps it and calls
        ``on_exit(status)``.

        Raises:
            OSError: it could not be started (not found, not executable).
        """
        import subprocess

        options: dict[str, Any] = {}
        child_env = dict(env)
        if user and os.geteuid() == 0:
            from envconf.render.privileges import resolve_user

            creds = resolve_user(user)
            groups = os.getgrouplist(creds.user, creds.gid) if creds.user else [creds.gid]
            options = {"user": creds.uid, "group": creds.gid, "extra_groups": groups}
            child_env["HOME"] = creds.home
        process = subprocess.Popen(
            list(argv),
            env=child_env,
            stdin=subprocess.DEVNULL,
            restore_signals=True,
            close_fds=True,
            **options,
        )
        self._helpers[process.pid] = (process, on_exit)
        return process.pid

    def signal_app(self, signum: int) -> bool:
        """Send ``signum`` to the app; False when it has already exited."""
        if self.app_pid is None or self._status is not None:
            return False
        try:
            os.kill(self.app_pid, signum)
        except ProcessLookupError:
            return False
        return True

    def run(self) -> int:
        """Forward signals and reap children until the app exits; return its exit status."""
        if self.app_pid is None:
            raise RuntimeError("start the app first")
        while self._status is None:
            for key, _ in self._selector.select(_LOOP_TIMEOUT):
                if key.fd == self._wake_r:
                    self._handle_signals()
                elif self._status is None:
                    self._readers[int(key.fd)]()
            self._reap()  # also after a timeout: a wake-up byte may have been dropped
        self._reap()
        return self._status

    def _handle_signals(self) -> None:
        try:
            data = os.read(self._wake_r, 4096)
        except BlockingIOError:
            return
        for signum in data:
            if signum == signal.SIGCHLD:
                self._reap()
            elif signum in FORWARDED and self._status is None:
                self.signal_app(signum)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            except InterruptedError:  # pragma: no cover - PEP 475 retries, but be safe
                continue
            if pid == 0:
                return
            code = exit_status(status)
            if pid == self.app_pid:
                self._status = code
            elif pid in self._helpers:
                process, on_exit = self._helpers.pop(pid)
                process.returncode = os.waitstatus_to_exitcode(status)
                on_exit(code)
            # Anything else is an orphan that was re-parented to us: reaped, nothing more.

    def close(self) -> None:
        """Restore the signal handlers and the wake-up fd; close the pipes."""
        if self._saved_wakeup is not None:
            with contextlib.suppress(ValueError):
                signal.set_wakeup_fd(self._saved_wakeup)
            self._saved_wakeup = None
        for signum, handler in self._saved.items():
            if handler is None:
                continue
            with contextlib.suppress(OSError, ValueError, TypeError):
                signal.signal(signum, handler)
        self._saved.clear()
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(self._wake_r)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._wake_r = self._wake_w = -1


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError as exc:
            if exc.errno == errno.EINTR:  # pragma: no cover
                continue
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
