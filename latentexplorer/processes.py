"""Run a server as a child process that never outlives the command that started it.

The child runs in its own process group (its own session), so it does not see the terminal's Ctrl-C or
hang-up itself: :func:`run_in_process_group` catches SIGINT, SIGTERM and SIGHUP in the parent and
:func:`stop_process_group` stops the child's whole family — SIGTERM to its group first (a Jupyter
server then shuts its kernels down cleanly), SIGKILL after a timeout, then the same for any descendant
that left the group (Jupyter kernels start their own sessions).

**Dying with the parent, however it dies** (kill -9 included), is one mechanism: ``PR_SET_PDEATHSIG``
(Linux), armed by the child itself. A server child starts through this module's launcher
(``python -m latentexplorer.processes PARENT_PID -- COMMAND…``), which arms SIGTERM-on-parent-death, exits if
the parent is already gone, and execs COMMAND (the setting survives the exec); worker pools arm it in their
initializer. A Jupyter server's kernels watch their own parent (ipykernel's parent poller, through the
``JPY_PARENT_PID`` that jupyter_client sets): they exit within a second or two of their server. The signal
follows the *thread* that started the child, so start servers from the main thread.

>>> run_in_process_group([sys.executable, "-m", "jupyterlab", "--no-browser"])   # doctest: +SKIP
0
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading

log = logging.getLogger(__name__)

__all__ = ["Stopped", "run_in_process_group", "start_process_group", "stop_on_signals", "stop_process_group",
           "worker_pool"]

#: Signals that stop :func:`run_in_process_group` (those that exist on this platform).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: ask the kernel to send this (child) process SIGTERM when its parent dies."""
    with contextlib.suppress(Exception):  # best effort: never fail the start for it
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1


def _launcher(command) -> list[str]:
    """``command`` as started through this module's launcher (:func:`_launch`) on Linux; as it is elsewhere."""
    command = list(map(str, command))
    if not sys.platform.startswith("linux"):
        return command
    return [sys.executable, "-m", __name__, str(os.getpid()), "--", *command]


def _launch(argv: list[str]) -> None:  # pragma: no cover - runs in the child, then becomes the command
    """``PARENT_PID -- COMMAND…``: arm SIGTERM-on-parent-death, exit at once (status 1) if PARENT_PID is no
    longer this process's parent (it died before the signal was armed), else exec COMMAND (status 127 and one
    line on stderr if it cannot be run)."""
    parent, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: python -m latentexplorer.processes PARENT_PID -- COMMAND [ARG…]")
    _die_with_parent()
    if os.getppid() != int(parent):
        raise SystemExit(1)
    try:
        os.execvp(command[0], command)
    except OSError as err:
        print(f"cannot run {command[0]}: {err.strerror}", file=sys.stderr)
        raise SystemExit(127) from None


def worker_pool(n_jobs: int, start_method: str | None = None):
    """A :class:`concurrent.futures.ProcessPoolExecutor` of ``n_jobs`` workers (``start_method``: "fork", …;
    default the platform's) that never outlive this process: on Linux each worker gets SIGTERM when this
    process dies, even by kill -9, instead of waiting forever for work that will not come."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context(start_method)
    return ProcessPoolExecutor(int(n_jobs), mp_context=context,
                               initializer=_die_with_parent if sys.platform.startswith("linux") else None)


def start_process_group(command, *, env=None, cwd=None, **popen_kwargs) -> subprocess.Popen:
    """``subprocess.Popen(command)`` as the leader of a new process group (and session), stdin closed, that
    gets SIGTERM when this process dies (Linux; through the launcher, see the module's notes).

    Stop it with :func:`stop_process_group`. Extra keyword arguments go to :class:`subprocess.Popen`
    (e.g. ``stdout=``).
    """
    popen_kwargs.setdefault("stdin", subprocess.DEVNULL)
    if os.name == "posix":
        popen_kwargs["start_new_session"] = True
    process = subprocess.Popen(_launcher(command), env=env, cwd=cwd, **popen_kwargs)
    log.debug("started %s (pid %d, own process group)", os.path.basename(str(command[0])), process.pid)
    return process


def _signal_group(process: subprocess.Popen, signum) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signum)  # the leader's pid is the group's id
        elif process.poll() is None:  # pragma: no cover - Windows
            process.terminate()
    except (ProcessLookupError, PermissionError):
        pass  # the group is empty


def _descendants(pid: int) -> list:
    try:
        import psutil

        return psutil.Process(pid).children(recursive=True)
    except Exception:  # noqa: BLE001 - no psutil, or the process is gone
        return []


def stop_process_group(process: subprocess.Popen, timeout: float = 10.0) -> int:
    """Stop a process started by :func:`start_process_group` and everything it started; returns its exit status.

    SIGTERM to its process group, SIGKILL to the group if the leader has not exited after ``timeout``
    seconds; descendants that moved to a group of their own (Jupyter kernels) get the same treatment.
    Safe to call on a process that has already exited, and more than once.
    """
    family = _descendants(process.pid) if process.poll() is None else []
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        log.warning("pid %d did not stop within %.0f s of SIGTERM: killing its process group", process.pid, timeout)
        _signal_group(process, getattr(signal, "SIGKILL", signal.SIGTERM))
        process.wait()
    _signal_group(process, signal.SIGTERM)  # members of the group the leader left behind
    if family:
        import psutil

        alive = [p for p in family if p.is_running()]
        with contextlib.suppress(psutil.Error):
            for p in alive:
                p.terminate()
        _, alive = psutil.wait_procs(alive, timeout=timeout)
        for p in alive:
            log.warning("pid %d (%s) outlived its parent: killing it", p.pid, p.name())
            with contextlib.suppress(psutil.Error):
                p.kill()
        psutil.wait_procs(alive, timeout=5)
    return process.returncode


class Stopped(Exception):
    """Raised in the main thread, inside :func:`stop_on_signals`, when a stop signal arrives."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def stop_on_signals(watch_parent: bool = False):
    """Inside the block, SIGINT (even when inherited as ignored, as in a script's background job), SIGTERM
    and SIGHUP raise :class:`Stopped`; a second signal is ignored while the first is handled. With
    ``watch_parent``, the death of the parent process counts as SIGTERM. Handlers are restored on exit."""
    previous = {}

    def stop(signum, frame):
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        raise Stopped(signum)

    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    if watch_parent:
        _watch_parent()
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _watch_parent() -> None:
    """SIGTERM this process once the process that started it has gone (checked every second)."""
    import time

    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="latentexplorer-parent-watch", daemon=True).start()


def run_in_process_group(command, *, env=None, cwd=None, timeout: float = 10.0, **popen_kwargs) -> int:
    """Run ``command`` in its own process group until it exits or this process is told to stop.

    Ctrl-C (SIGINT), SIGTERM and SIGHUP stop the child and its whole family (:func:`stop_process_group`)
    before returning; so does any exception. Returns the child's exit status if it exited by itself,
    0 after Ctrl-C and 128 + the signal's number after SIGTERM or SIGHUP.
    """
    process = None
    with stop_on_signals():
        try:
            process = start_process_group(command, env=env, cwd=cwd, **popen_kwargs)
            return process.wait()
        except KeyboardInterrupt:  # SIGINT when not in the main thread
            return 0
        except Stopped as reason:
            log.info("stopping pid %d (%s)", process.pid if process else -1, reason)
            return 0 if reason.signum == signal.SIGINT else 128 + int(reason.signum)
        finally:
            if process is not None:
                stop_process_group(process, timeout)


if __name__ == "__main__":  # pragma: no cover - the launcher of start_process_group
    _launch(sys.argv[1:])
