"""The CLI's side of ending an operation: its exit status after a signal.

What ``terminate-op`` reads from the server's answer or a status is
:mod:`gitward.model.outcome`'s (tests/unit/model/test_outcome.py).
"""

from __future__ import annotations

import signal

from gitward.cli.interrupt import Caught


def test_a_caught_signal_exits_as_the_shell_expects() -> None:
    assert Caught().exit_code == 1
    assert Caught(signal=signal.SIGINT).exit_code == 130
    assert Caught(signal=signal.SIGTERM).exit_code == 143
    assert Caught(signal=signal.SIGHUP).exit_code == 129
