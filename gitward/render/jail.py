"""The kernel-enforced half of the path jail: kustomize and helm run under Landlock.

gitward checks every path a render names before any tool runs (see
:mod:`gitward.render.paths` and :mod:`gitward.render.kustomize`), which gives
clear errors. That check is a parser's view of what a tool will read; a tool
may parse differently or follow a reference the check never saw. So each tool
process is also confined by Landlock (Linux 5.13+, unprivileged): it may read
only the repository tree it renders, write only its private temporary
directory, execute only its own binary and the system's shared libraries, and
open no TCP connection. What the tool cannot open, it cannot leak into a
manifest.

Landlock is applied by a tiny standard-library-only launcher
(``_landlock_exec.py``, run with ``python -I -S``) between fork and exec, so
the asyncio process itself is never restricted. On a kernel without Landlock
the launcher is skipped and the checks alone stand; :func:`landlock_abi` says
which, and ``docs/security.md`` describes both.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("gitward.render")

_LAUNCHER = Path(__file__).with_name("_landlock_exec.py")
_LANDLOCK_CREATE_RULESET = 444
_LANDLOCK_CREATE_RULESET_VERSION = 1 << 0

#: Read-and-execute: shared libraries for dynamically linked tools, and the system's programs
#: for tools that are scripts. No secrets live here, and whatever runs from here is inside
#: the same jail (it reads only what the tool may read and opens no TCP connection).
SYSTEM_PROGRAMS = (
    "/lib",
    "/lib64",
    "/lib32",
    "/usr/lib",
    "/usr/lib64",
    "/usr/libexec",
    "/bin",
    "/usr/bin",
    "/usr/local/bin",
)
#: Files a Go or C runtime may read at start; harmless to expose.
SYSTEM_FILES = ("/etc/ld.so.cache", "/dev/null", "/dev/urandom", "/etc/localtime")


@functools.cache
def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is unavailable (or disabled)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        version = int(
            libc.syscall(_LANDLOCK_CREATE_RULESET, None, 0, _LANDLOCK_CREATE_RULESET_VERSION)
        )
    except (OSError, AttributeError):
        return 0
    return max(version, 0)


@dataclass(frozen=True)
class Jail:
    """What one tool run may touch: ``read`` trees, ``write`` trees, and nothing else."""

    read: tuple[Path, ...]
    write: tuple[Path, ...] = ()
    network: bool = False
    extra_exec: tuple[Path, ...] = field(default=())

    def argv(self, binary: Path, args: Sequence[str]) -> list[str]:
        """The command line running ``binary args`` in this jail (as is, without Landlock)."""
        abi = landlock_abi()
        if abi == 0:
            _warn_once()
            return [str(binary), *args]
        real = binary.resolve()
        executable = sorted({str(real), str(binary), *SYSTEM_PROGRAMS, *map(str, self.extra_exec)})
        grants = [f"r:{p}" for p in (*self.read, *SYSTEM_FILES)]
        grants += [f"x:{p}" for p in executable]
        grants += [f"w:{p}" for p in self.write]
        network = "net" if self.network else "nonet"
        launcher = [sys.executable, "-I", "-S", str(_LAUNCHER), str(abi), network]
        return [*launcher, *grants, "--", str(real), *args]


@functools.cache
def _warn_once() -> None:
    log.warning(
        "Landlock is not available on this kernel: kustomize and helm run without the "
        "kernel path jail (gitward's own path checks still apply); see docs/security.md"
    )


def enforced() -> bool:
    """Whether tool runs are confined by the kernel on this machine."""
    return landlock_abi() > 0 and os.access(_LAUNCHER, os.R_OK)
