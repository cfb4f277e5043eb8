"""The import-linter contracts in pyproject.toml catch what they promise to catch.

Each case copies the package to a temporary directory, adds one deliberate breach
and runs ``lint-imports`` there with the project's own contracts: the untouched
copy must pass (so a failure below is the breach's doing), each breach must fail
naming the module at fault.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")
Breach = Callable[[str, str], Path]


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("layers")
    shutil.copytree(
        ROOT / "gitward", where / "gitward", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", where / "pyproject.toml")
    return where


def lint(where: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(where)}
    return subprocess.run(
        [str(LINT), "--no-cache", "--no-logo", str(where / "pyproject.toml")],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def breach(copy: Path) -> Iterator[Breach]:
    """Write a file into the copy for one test, and take it away afterwards."""
    written: list[Path] = []

    def add(relative: str, text: str) -> Path:
        path = copy / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
        return path

    yield add
    for path in reversed(written):
        path.unlink()
        if path.name == "__init__.py":
            path.parent.rmdir()


def test_the_package_as_it_is_keeps_every_contract(copy: Path) -> None:
    result = lint(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_layers(copy: Path, breach: Breach) -> None:
    breach("gitward/model/upward.py", "import gitward.cli.main\n")
    result = lint(copy)
    assert result.returncode != 0
    assert "gitward.model.upward -> gitward.cli.main" in result.stdout


def test_a_package_missing_from_the_table_breaks_the_layers(copy: Path, breach: Breach) -> None:
    breach("gitward/unplaced/__init__.py", '"""A package nobody placed in a layer."""\n')
    result = lint(copy)
    assert result.returncode != 0
    assert "gitward.unplaced" in result.stdout


def test_a_process_started_from_the_pure_rules_breaks_purity(copy: Path, breach: Breach) -> None:
    breach("gitward/diff/spawns.py", "import subprocess\n")
    result = lint(copy)
    assert result.returncode != 0
    assert "gitward.diff is not allowed to import subprocess" in result.stdout
