"""The whole API server as its own process, and the ``gitward`` command run against it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from gitward.cli import main
from gitward.model.errors import GitwardError
from tests.support.poll import eventually_sync


@contextmanager
def server_process(kubeconfig: Path, namespace: str, log: Path) -> Iterator[str]:
    """``python -m tests.support.gwserver`` on a free port; its URL once it serves."""
    out = log.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.gwserver", "--kubeconfig", str(kubeconfig),
         "--namespace", namespace],
        stdout=subprocess.PIPE,
        stderr=out,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()  # printed once the informers have listed
        if not url:
            proc.wait(timeout=10)
            raise AssertionError(f"server did not start: {log.read_text()[-2000:]}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


class Gitward:
    """Runs ``gitward ARGS`` with its own configuration file; keeps every output.

    In this process through typer's runner (a command costs what it does, not an
    interpreter start: the machine is shared), or as a subprocess with ``process=True``;
    gitward's own errors become exit status 2 and ``error: ...`` on stderr either way.
    """

    def __init__(self, config: Path, kubeconfig: Path, namespace: str) -> None:
        self.config = config
        self.env = {
            **os.environ,
            "GITWARD_CONFIG": str(config),
            "KUBECONFIG": str(kubeconfig),
            "GITWARD_NAMESPACE": namespace,
            "COLUMNS": "200",
        }
        self.outputs: list[str] = []

    def __call__(self, *args: str, stdin: str | None = None, process: bool = False) -> Ran:
        if process:
            done = subprocess.run(
                [sys.executable, "-m", "gitward.cli", *args],
                input=stdin,
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
                env=self.env,
            )
            result = Ran(done.returncode, done.stdout, done.stderr)
        else:
            result = self._in_process(list(args), stdin)
        self.outputs += [result.stdout, result.stderr]
        return result

    def _in_process(self, args: list[str], stdin: str | None) -> Ran:
        env = {k: v for k, v in self.env.items() if k.startswith(("GITWARD_", "KUBECONFIG"))}
        ran = CliRunner().invoke(main.app, args, input=stdin, env=env)
        if isinstance(ran.exception, GitwardError):
            return Ran(2, ran.stdout, f"error: {ran.exception}\n")
        if ran.exception is not None and not isinstance(ran.exception, SystemExit):
            raise ran.exception
        return Ran(ran.exit_code, ran.stdout, ran.stderr)

    def ok(self, *args: str, stdin: str | None = None, process: bool = False) -> str:
        result = self(*args, stdin=stdin, process=process)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def fails(self, *args: str, stdin: str | None = None, process: bool = False) -> str:
        result = self(*args, stdin=stdin, process=process)
        assert result.returncode != 0, result.stdout + result.stderr
        return result.stderr


def wait_for_file(path: Path) -> Path:
    return eventually_sync(lambda: path if path.exists() else None, f"{path} to exist", 10)
