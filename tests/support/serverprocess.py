"""The whole API server as its own process, and the ``gitward`` command run against it.

The fixtures ``server`` (the process's URL, over the session cluster with gitward
installed) and ``gw`` (a :class:`Gitward` with its own configuration file, which
afterwards checks that no output showed a password) are registered for the integration
tests by ``tests/integration/conftest.py``. A module whose tests hand the server other
secrets overrides ``never_printed`` to add them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gitward.cli import main
from gitward.cluster import KubeClient
from gitward.localkube import LocalCluster
from gitward.model.errors import GitwardError
from tests.support.gwserver import ADMIN_PASSWORD, READER_PASSWORD
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


@pytest.fixture
def server(
    installed: KubeClient, cluster: LocalCluster, namespace: str, tmp_path: Path
) -> Iterator[str]:
    """A ``gitward server`` process over the session cluster; its URL."""
    with server_process(cluster.kubeconfig, namespace, tmp_path / "server.log") as url:
        yield url


@pytest.fixture
def never_printed() -> tuple[str, ...]:
    """Texts no command's output may show: the test accounts' passwords."""
    return ADMIN_PASSWORD, READER_PASSWORD


@pytest.fixture
def gw(
    cluster: LocalCluster, namespace: str, tmp_path: Path, never_printed: tuple[str, ...]
) -> Iterator[Gitward]:
    """``gitward`` with a configuration file of its own; no output showed a secret."""
    runner = Gitward(tmp_path / "home" / "config", cluster.kubeconfig, namespace)
    yield runner
    for text in runner.outputs:
        for secret in never_printed:
            assert secret not in text
