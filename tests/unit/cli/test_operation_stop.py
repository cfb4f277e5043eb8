"""The CLI's side of ending an operation: its exit status after a signal, and output that
a hung-up terminal cannot take.

What ``terminate-op`` reads from the server's answer or a status is
:mod:`gitward.model.outcome`'s (tests/unit/model/test_outcome.py).
"""

from __future__ import annotations

import errno
import signal

import pytest

from gitward.cli.interrupt import Caught, best_effort


def test_a_caught_signal_exits_as_the_shell_expects() -> None:
    assert Caught().exit_code == 1
    assert Caught(signal=signal.SIGINT).exit_code == 130
    assert Caught(signal=signal.SIGTERM).exit_code == 143
    assert Caught(signal=signal.SIGHUP).exit_code == 129


def test_a_line_the_terminal_cannot_take_is_dropped_and_nothing_else() -> None:
    shown: list[str] = []

    def show(line: str) -> None:
        if line == "hung up":
            raise OSError(errno.EIO, "Input/output error")
        if line == "bug":
            raise ValueError(line)
        shown.append(line)

    printed = best_effort(show)
    printed("one")
    printed("hung up")
    printed("two")
    assert shown == ["one", "two"]
    with pytest.raises(ValueError, match="bug"):
        printed("bug")
