"""jq evaluation off the event loop: a sandboxed worker process, a time limit, a memo.

``jqPathExpressions`` are programs written by whoever writes the Application.
Even after gitward.diff.jqexpr has refused every builtin that reaches outside
the object, a pure program can loop (``reduce range(1e9) as $i (.; .)``) or
allocate without end, and jq's C library cannot be interrupted from Python.
So expressions run in one long-lived worker process (``_jqworker.py``):

- an empty environment, ``/`` as working directory, an address-space limit
  (512 MiB by default), no file writes, a handful of file descriptors, and a
  parent-death signal so that it never outlives the controller;
- a time limit per evaluation (Argo CD's ``ignore.normalizer.jq.timeout``,
  1 s by default): on expiry the worker is killed and the next evaluation
  starts a fresh one, and the expression is refused for
  :data:`PENALTY_SECONDS` so that a slow expression cannot take the worker's
  whole time, refresh after refresh;
- a thread that talks to the worker, so the event loop only awaits a future.

Results are memoised by (expression, digest of the input): the refresh of an
app whose objects did not change costs a serialisation, a hash and a lookup.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import json
import os
import select
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

from gitward._util.lru import BoundedLRU
from gitward.model.jq import DEFAULT_TIMEOUT, JqFailure

WORKER = Path(__file__).with_name("_jqworker.py")
DEFAULT_MEMORY = 512 << 20
#: How long an expression that timed out (or killed its worker) is refused outright.
PENALTY_SECONDS = 300.0
#: Results larger than this are not memoised (they would crowd out the rest).
MAX_MEMO_RESULT = 1 << 20
#: A response larger than this kills the worker: no object gitward compares is that big.
MAX_RESPONSE = 64 << 20
_START_TIMEOUT = 30.0


class _Dead(Exception):
    """The worker closed its output: it crashed or aborted on the memory limit."""


class JqRunner:
    """Evaluates ``del(EXPR)`` for input objects in a sandboxed worker, one at a time."""

    def __init__(self, memory: int = DEFAULT_MEMORY, memo_size: int = 4096) -> None:
        self.memory = memory
        self._memo: BoundedLRU[tuple[str, bytes], tuple[bool, str]] = BoundedLRU(memo_size)
        self._penalty: dict[str, tuple[float, str]] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gitward-jq")
        self._closed = threading.Event()
        #: Worker processes started so far (one more after every timeout or crash).
        self.starts = 0
        #: Evaluations sent to a worker, i.e. memo misses.
        self.evaluations = 0

    async def delete(self, expr: str, obj: Any, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """``del(expr)`` applied to ``obj``: a new object; raises :class:`JqFailure`."""
        text = json.dumps(obj, separators=(",", ":"), default=str)
        key = (expr, hashlib.blake2b(text.encode(), digest_size=16).digest())
        found = self._memo.get(key)
        if found is None:
            self._check_penalty(expr)
            future = self._executor.submit(self._evaluate, expr, text, timeout)
            found = await asyncio.wrap_future(future)
            if len(found[1]) <= MAX_MEMO_RESULT:
                self._memo.put(key, found)
        ok, payload = found
        if not ok:
            raise JqFailure(payload)
        return json.loads(payload)

    def _check_penalty(self, expr: str) -> None:
        entry = self._penalty.get(expr)
        if entry is None:
            return
        until, reason = entry
        if time.monotonic() < until:
            raise JqFailure(f"{reason} (not retried for {PENALTY_SECONDS:.0f} s)", kind="refused")
        del self._penalty[expr]

    def _evaluate(self, expr: str, text: str, timeout: float) -> tuple[bool, str]:
        """In the runner's thread: one request to the worker; memoisable outcomes only."""
        self._check_penalty(expr)  # an earlier request of the queue may have just failed
        self.evaluations += 1
        try:
            proc = self._worker()
            assert proc.stdin is not None
            assert proc.stdout is not None
            deadline = time.monotonic() + timeout
            request = (json.dumps(expr) + "\n" + text + "\n").encode()
            _write_all(proc.stdin.fileno(), request)
            line = _read_line(proc.stdout.fileno(), deadline)
        except TimeoutError:
            self._penalise(expr, f"jq took longer than {timeout:g} s")
        except (_Dead, OSError):
            self._penalise(expr, "jq stopped (memory limit or crash)")
        if line[:1] == b"+":
            return True, line[1:].decode()
        if line[:1] == b"!":
            return False, str(json.loads(line[1:]))
        return self._penalise(expr, "jq worker answered nonsense")

    def _penalise(self, expr: str, reason: str) -> NoReturn:
        self._kill()
        if len(self._penalty) > 1024:
            self._penalty.clear()
        self._penalty[expr] = (time.monotonic() + PENALTY_SECONDS, reason)
        raise JqFailure(reason, kind="limit")

    def _worker(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        if self._closed.is_set():
            raise JqFailure("the jq runner is closed", kind="limit")
        self._kill()
        proc = subprocess.Popen(
            [sys.executable, "-I", str(WORKER), str(self.memory), str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},
            cwd="/",
            bufsize=0,
            close_fds=True,
            start_new_session=True,
        )
        self._proc = proc
        self.starts += 1
        assert proc.stdout is not None
        try:
            ready = _read_line(proc.stdout.fileno(), time.monotonic() + _START_TIMEOUT)
        except (TimeoutError, _Dead):
            self._kill()
            raise JqFailure("the jq worker did not start", kind="limit") from None
        if ready != b"ready":
            self._kill()
            raise JqFailure("the jq worker did not start", kind="limit")
        return proc

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def close(self) -> None:
        """Stop the worker; later evaluations fail."""
        self._closed.set()
        self._kill()  # the thread, if busy with it, sees the pipe close and gives up
        self._executor.shutdown(wait=False)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_line(fd: int, deadline: float) -> bytes:
    """One line (without its newline) from ``fd`` before ``deadline``; raises TimeoutError."""
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            raise TimeoutError
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            raise _Dead
        chunks.append(chunk)
        size += len(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(chunks)[:-1]
        if size > MAX_RESPONSE:
            raise _Dead


_DEFAULT: JqRunner | None = None
_DEFAULT_LOCK = threading.Lock()


def default_runner() -> JqRunner:
    """The process-wide runner (one worker for the whole controller)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = JqRunner()
            atexit.register(_DEFAULT.close)
        return _DEFAULT
