"""The CLI's side of ending an operation: its exit status after a signal, and what
``terminate-op`` reads from the server's answer (hostile input like any other) or a status.
"""

from __future__ import annotations

import signal
from typing import Any

from hypothesis import given

from gitward.cli.app_ops_cmd import phase_and_message
from gitward.cli.interrupt import Caught
from tests.unit.sync.test_operation_stop import JSON


def test_a_caught_signal_exits_as_the_shell_expects() -> None:
    assert Caught().exit_code == 1
    assert Caught(signal=signal.SIGINT).exit_code == 130
    assert Caught(signal=signal.SIGTERM).exit_code == 143


@given(JSON)
def test_any_answer_reads_as_a_phase_and_a_message(answer: Any) -> None:
    phase, message = phase_and_message(answer)
    assert isinstance(phase, str)
    assert isinstance(message, str)


def test_an_answer_or_a_status_gives_itsphase_and_message() -> None:
    answer = {"phase": "Terminating", "message": "operation is terminating"}
    assert phase_and_message(answer) == ("Terminating", "operation is terminating")
    status = {"operationState": {"phase": "Failed", "message": "Operation terminated"}}
    assert phase_and_message(status) == ("Failed", "Operation terminated")
    assert phase_and_message({}) == ("", "")
    assert phase_and_message({"phase": 3, "message": ["x"]}) == ("", "")
