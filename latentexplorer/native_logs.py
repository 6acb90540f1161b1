"""Keep TensorFlow's native start-up lines off a command's stderr.

TensorFlow's C++ runtime writes its start-up chatter ("oneDNN custom operations are on", "Could not find cuda
drivers", "failed call to cuInit", CPU-feature notes) straight to file descriptor 2, before and regardless of
``TF_CPP_MIN_LOG_LEVEL``. :func:`filter_native_stderr` routes descriptor 2 through a pipe for the duration of a
command and drops the lines of that chatter; everything else — messages, tracebacks, progress bars — passes at
once, byte for byte (a partial line is held only while it may still become one of the dropped lines).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading

__all__ = ["NATIVE_NOISE", "filter_native_stderr"]

#: Lines dropped: abseil-formatted native log lines (I/W/E + MMDD) and the CPU-feature notice.
NATIVE_NOISE = re.compile(
    rb"^([IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.]+:\d+\]"
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|To enable the following instructions: )"
)
#: A partial line is held back only while shorter than this and possibly the start of a dropped line.
_HOLD_BYTES = 120
_FIXED = (b"WARNING: All log messages before absl::InitializeLog() is called", b"To enable the following instructions: ")


def _may_become_noise(partial: bytes) -> bool:
    """Whether a line starting with ``partial`` (no line end yet) could still be one :data:`NATIVE_NOISE` drops."""
    if NATIVE_NOISE.match(partial):
        return True
    if len(partial) >= _HOLD_BYTES:
        return False
    return bool(re.match(rb"[IWE](\d{0,3}$|\d{4} )", partial)) or any(f.startswith(partial) for f in _FIXED)


def _pump(read_fd: int, write_fd: int) -> None:
    """Copy ``read_fd`` to ``write_fd`` until end of file, dropping native noise lines."""
    pending = b""
    while True:
        try:
            data = os.read(read_fd, 65536)
        except OSError:
            data = b""
        if not data:
            break
        pending += data
        out = []
        while pending:
            ends = [i for i in (pending.find(b"\n"), pending.find(b"\r")) if i >= 0]
            if not ends:
                if not _may_become_noise(pending):
                    out.append(pending)
                    pending = b""
                break
            segment, pending = pending[:min(ends) + 1], pending[min(ends) + 1:]
            if not NATIVE_NOISE.match(segment):
                out.append(segment)
        if out:
            os.write(write_fd, b"".join(out))
    if pending and not NATIVE_NOISE.match(pending):
        os.write(write_fd, pending)


@contextlib.contextmanager
def filter_native_stderr():
    """Route file descriptor 2 through the filter while the block runs (child processes started inside it
    inherit the filtered stderr). Does nothing where descriptor 2 is not available."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    read_fd, write_fd = os.pipe()
    sys.stderr.flush()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    pump = threading.Thread(target=_pump, args=(read_fd, saved), name="native-stderr-filter", daemon=True)
    pump.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end held by this process
        pump.join(timeout=2.0)
        os.close(read_fd)
        os.close(saved)
