"""Restrict this process with Landlock, then exec the tool.

Usage: ``_landlock_exec.py ABI NET [r:PATH | x:PATH | w:PATH]... -- PROGRAM [ARGS...]``
(``NET`` is ``net`` or ``nonet``; ``r`` read, ``x`` read and execute, ``w`` anything).
Run as ``python -I -S`` so it starts fast: it imports only ``ctypes``, ``os``
and ``sys`` (no json: its import alone doubled the start-up time), and must stay
free of gitward imports. After ``landlock_restrict_self`` the process (and all it
execs) can read only the ``r`` trees, execute only the ``x`` ones, write only under
the ``w`` trees and, with ``nonet``, open no TCP connection; signals and abstract
Unix sockets outside its own domain are out of reach too (ABI 6). Any failure
to set up the ruleset exits 126 with a one-line reason: a tool is never run
half-fenced.
"""

from __future__ import annotations

import ctypes
import os
import sys

_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446  # x86_64 and aarch64 alike
_PR_SET_NO_NEW_PRIVS = 38
_RULE_PATH_BENEATH = 1

_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_WRITE_DIR_RIGHTS = sum(1 << bit for bit in range(4, 13))  # remove_*, make_* (ABI 1)
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def _fail(message: str) -> None:
    sys.stderr.write(f"gitward jail: {message}\n")
    sys.exit(126)


def _handled(abi: int) -> int:
    rights = _EXECUTE | _WRITE_FILE | _READ_FILE | _READ_DIR | _WRITE_DIR_RIGHTS
    if abi >= 2:
        rights |= _REFER
    if abi >= 3:
        rights |= _TRUNCATE
    if abi >= 5:
        rights |= _IOCTL_DEV
    return rights


def main(argv: list[str]) -> None:
    try:
        split = argv.index("--")
        abi, net = int(argv[1]), argv[2] == "net"
    except (ValueError, IndexError):
        _fail("usage: _landlock_exec.py ABI NET [r:|x:|w:PATH]... -- PROGRAM [ARGS...]")
    program = argv[split + 1 :]
    if not program:
        _fail("no program to run")
    libc = ctypes.CDLL(None, use_errno=True)
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    handled = _handled(abi)
    attr = _RulesetAttr(handled, 0, 0)
    size = 8
    if abi >= 4:
        attr.handled_access_net = 0 if net else 0b11  # bind + connect TCP
        size = 16
    if abi >= 6:
        attr.scoped = 0b11  # abstract Unix sockets + signals
        size = 24
    fd = syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        _fail(f"landlock_create_ruleset: {os.strerror(ctypes.get_errno())}")
    kinds = {"r": _READ_FILE | _READ_DIR, "x": _EXECUTE | _READ_FILE | _READ_DIR, "w": handled}
    for grant in argv[3:split]:
        kind, _, path = grant.partition(":")
        if kind not in kinds or not path:
            _fail(f"bad grant {grant!r}")
        rights = kinds[kind]
        try:
            target = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        except OSError as exc:
            _fail(f"{path}: {exc.strerror}")
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        rule = _PathBeneathAttr(rights & handled, target)
        if syscall(_SYS_ADD_RULE, fd, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            _fail(f"landlock_add_rule {path}: {os.strerror(ctypes.get_errno())}")
        os.close(target)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        _fail(f"prctl(NO_NEW_PRIVS): {os.strerror(ctypes.get_errno())}")
    if syscall(_SYS_RESTRICT, fd, 0) != 0:
        _fail(f"landlock_restrict_self: {os.strerror(ctypes.get_errno())}")
    os.close(fd)
    try:
        os.execv(program[0], program)  # noqa: S606 - an argv list, never a shell
    except OSError as exc:
        _fail(f"cannot run {program[0]}: {exc.strerror}")


if __name__ == "__main__":
    main(sys.argv)
