"""The jq worker process: evaluates ``del(EXPR)`` for gitward.sandbox.jqrun, and nothing else.

Run as a script (``python -I _jqworker.py MEMORY_BYTES PARENT_PID``) so that it imports
only ``jq`` and the standard library, never gitward, and starts fast. The
parent gives it an empty environment (``$ENV`` would be empty even if an
expression got past the checks) and ``/`` as its working directory; it caps
its own address space, file size and open files before reading a request.

Protocol, one request at a time over stdin/stdout, one line each:

    request:  <JSON string: the expression> "\\n" <compact JSON: the input> "\\n"
    response: "+" <compact JSON: the result> "\\n"   or   "!" <JSON string: the error> "\\n"

A line ``ready`` is written once at start. The parent kills the process on a
timeout and starts another; an allocation beyond the limit makes jq abort,
which the parent sees as the end of the stream.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys

_PR_SET_PDEATHSIG = 1
_SIGKILL = 9


def _limit(which: int, value: int) -> None:
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def main() -> None:
    import jq  # imported before the limits, which would stop its loading

    memory = int(sys.argv[1]) if len(sys.argv) > 1 else 512 << 20
    parent = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    # Die with the parent: an expression stuck in a loop must not outlive the controller.
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, _SIGKILL)
    if parent and os.getppid() != parent:
        return
    os.environ.clear()  # unsets what Python itself added (LC_CTYPE, from locale coercion)
    _limit(resource.RLIMIT_AS, memory)
    _limit(resource.RLIMIT_FSIZE, 0)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_NOFILE, 8)
    programs: dict[str, object] = {}
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(b"ready\n")
    stdout.flush()
    while True:
        expr_line = stdin.readline()
        text = stdin.readline()
        if not text:
            return
        try:
            expr = json.loads(expr_line)
            program = programs.get(expr)
            if program is None:
                if len(programs) >= 256:
                    programs.clear()
                program = programs[expr] = jq.compile(f"del({expr}) | tojson")
            result = program.input_text(text.decode()).first()  # type: ignore[attr-defined]
            out = b"+" + result.encode() + b"\n"
        except MemoryError:
            out = b"!" + json.dumps("out of memory").encode() + b"\n"
        except Exception as exc:  # every jq error goes back to the parent
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            out = b"!" + json.dumps(message[:500]).encode() + b"\n"
        stdout.write(out)
        stdout.flush()


if __name__ == "__main__":
    main()
