"""Kubeconfig loading: merging, contexts, certificates, tokens and exec plugins."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.cluster.kubeconfig import KubeconfigError, load


def write(path: Path, contexts: list[dict[str, Any]], current: str = "", **extra: Any) -> Path:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": extra.get("clusters", []),
        "users": extra.get("users", []),
        "contexts": contexts,
    }
    if current:
        doc["current-context"] = current
    path.write_text(yaml.safe_dump(doc))
    return path


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_current_context_token_and_namespace(tmp_path: Path) -> None:
    path = write(
        tmp_path / "config",
        [{"name": "dev", "context": {"cluster": "c", "user": "u", "namespace": "team"}}],
        "dev",
        clusters=[
            {
                "name": "c",
                "cluster": {"server": "https://127.0.0.1:6443/", "insecure-skip-tls-verify": True},
            }
        ],
        users=[{"name": "u", "user": {"token": "abc"}}],
    )
    creds = load(str(path))
    assert creds.server == "https://127.0.0.1:6443"
    assert creds.namespace == "team"
    assert creds.insecure
    assert "abc" not in repr(creds)


async def test_tokens_basic_auth_and_token_files(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-file\n")
    path = write(
        tmp_path / "config",
        [
            {"name": "a", "context": {"cluster": "c", "user": "tok"}},
            {"name": "b", "context": {"cluster": "c", "user": "basic"}},
            {"name": "f", "context": {"cluster": "c", "user": "file"}},
        ],
        "a",
        clusters=[{"name": "c", "cluster": {"server": "https://x"}}],
        users=[
            {"name": "tok", "user": {"token": "t0k"}},
            {"name": "basic", "user": {"username": "me", "password": "pw"}},
            {"name": "file", "user": {"tokenFile": "token"}},
        ],
    )
    assert await load(str(path)).authorization() == "Bearer t0k"
    assert await load(str(path), "b").authorization() == "Basic " + b64(b"me:pw")
    assert await load(str(path), "f").authorization() == "Bearer from-file"


def test_several_files_merge_first_wins(tmp_path: Path) -> None:
    first = write(
        tmp_path / "one",
        [{"name": "shared", "context": {"cluster": "c1"}}],
        "shared",
        clusters=[{"name": "c1", "cluster": {"server": "https://one"}}],
    )
    second = write(
        tmp_path / "two",
        [
            {"name": "shared", "context": {"cluster": "c2"}},
            {"name": "other", "context": {"cluster": "c2"}},
        ],
        "other",
        clusters=[{"name": "c2", "cluster": {"server": "https://two"}}],
    )
    joined = f"{first}:{second}"
    assert load(joined).server == "https://one"
    assert load(joined, "other").server == "https://two"


def test_missing_context_names_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "config", [{"name": "dev", "context": {"cluster": "c"}}], "dev")
    with pytest.raises(KubeconfigError, match=r"no context 'prod' \(contexts: dev\)"):
        load(str(path), "prod")
    with pytest.raises(KubeconfigError, match="no kubeconfig found"):
        load(str(tmp_path / "absent"))


async def test_exec_plugin_runs_and_its_token_is_cached(tmp_path: Path) -> None:
    counter = tmp_path / "calls"
    plugin = tmp_path / "plugin.sh"
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": "exec-token"},
    }
    plugin.write_text(f"#!/bin/sh\necho x >> {counter}\necho '{json.dumps(credential)}'\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    path = write(
        tmp_path / "config",
        [{"name": "e", "context": {"cluster": "c", "user": "u"}}],
        "e",
        clusters=[{"name": "c", "cluster": {"server": "https://x"}}],
        users=[
            {
                "name": "u",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "command": str(plugin),
                    }
                },
            }
        ],
    )
    creds = load(str(path))
    assert await creds.authorization() == "Bearer exec-token"
    assert await creds.authorization() == "Bearer exec-token"
    assert counter.read_text().count("x") == 1


def test_certificate_data_builds_an_ssl_context(tmp_path: Path) -> None:
    from gitward.localkube.pki import ensure_pki

    pki = ensure_pki(tmp_path / "pki")
    path = write(
        tmp_path / "config",
        [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "c",
        clusters=[
            {
                "name": "c",
                "cluster": {
                    "server": "https://127.0.0.1:1",
                    "certificate-authority": str(pki.ca_cert),
                },
            }
        ],
        users=[
            {
                "name": "u",
                "user": {
                    "client-certificate-data": b64(pki.admin_cert.read_bytes()),
                    "client-key-data": b64(pki.admin_key.read_bytes()),
                },
            }
        ],
    )
    creds = load(str(path))
    assert creds.ca_data == pki.ca_cert.read_bytes()
    ctx = creds.ssl_context()
    assert ctx.verify_mode.name == "CERT_REQUIRED"
