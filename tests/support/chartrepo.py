"""A real Helm chart repository for tests: charts made by ``helm``, served over HTTPS.

Charts are written as directories, packaged with the real ``helm package`` and
indexed with the real ``helm repo index --url``; a threaded HTTPS server on
127.0.0.1 serves ``index.yaml`` and the archives, demands basic auth, answers
``If-None-Match`` / ``If-Modified-Since`` with 304 (the former wins when both
are sent, as RFC 9110 says), and records every request with the validators it
carried, so tests can count downloads and revalidations. ``etags = False``
makes it a server that only sends ``Last-Modified``. Its certificate is signed by a CA of its own
(``ca_pem``), which a test hands to gitward the way an installation would
(``argocd-tls-certs-cm``).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from gitward.localkube.pki import ensure_pki


def write_chart(
    root: Path,
    name: str,
    version: str,
    templates: dict[str, str],
    *,
    values: dict[str, Any] | None = None,
    dependencies: list[dict[str, str]] | None = None,
) -> Path:
    """A chart directory ``root/name`` (Chart.yaml, values.yaml, templates/)."""
    chart = root / name
    (chart / "templates").mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"apiVersion": "v2", "name": name, "version": version}
    if dependencies:
        meta["dependencies"] = dependencies
    (chart / "Chart.yaml").write_text(yaml.safe_dump(meta))
    (chart / "values.yaml").write_text(yaml.safe_dump(values or {}))
    for file, text in templates.items():
        (chart / "templates" / file).write_text(text)
    return chart


class ChartRepo:
    """Packaged charts in ``directory``, served at :attr:`url` over HTTPS with basic auth."""

    def __init__(self, directory: Path, helm: Path, username: str, password: str) -> None:
        self.directory = directory
        self.charts = directory / "repo"
        self.charts.mkdir(parents=True, exist_ok=True)
        self.helm = helm
        self.username, self.password = username, password
        pki = ensure_pki(directory / "pki")
        self.ca_pem = pki.ca_cert.read_text()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.serving_cert, pki.serving_key)
        self.requests: list[tuple[str, int]] = []
        #: ``(path, status, validators)`` of every request; validators are the
        #: ``If-None-Match`` / ``If-Modified-Since`` headers it sent.
        self.log: list[tuple[str, int, dict[str, str]]] = []
        self.etags = True
        self._server = _Server(self)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}/charts"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def publish(self, chart: Path, *, dependency_update: bool = False) -> Path:
        """``helm package`` the chart into the repository and re-index it.

        ``helm package`` refuses a chart whose Chart.yaml dependencies are missing from
        ``charts/``; ``dependency_update`` has it fetch them first (``--dependency-update``)
        from this repository, added to the fixture's own Helm home with its CA and login.
        """
        args = ["package", str(chart), "--destination", str(self.charts)]
        if dependency_update:
            ca = self.directory / "ca.pem"
            ca.write_text(self.ca_pem)
            self._helm("repo", "add", "self", self.url, "--force-update", "--ca-file", str(ca),
                       "--username", self.username, "--password", self.password)  # fmt: skip
            args.append("--dependency-update")
        self._helm(*args)
        self._helm("repo", "index", str(self.charts), "--url", self.url)
        name = yaml.safe_load((chart / "Chart.yaml").read_text())
        return self.charts / f"{name['name']}-{name['version']}.tgz"

    def replace_archive(self, chart: Path) -> Path:
        """Serve ``chart``, packaged, in place of the archive of the same name and version.

        The index is not touched, so its digest no longer matches: a tampered mirror.
        """
        staging = self.directory / "tampered"
        staging.mkdir(exist_ok=True)
        self._helm("package", str(chart), "--destination", str(staging))
        meta = yaml.safe_load((chart / "Chart.yaml").read_text())
        name = f"{meta['name']}-{meta['version']}.tgz"
        (self.charts / name).write_bytes((staging / name).read_bytes())
        return self.charts / name

    def downloads(self, suffix: str) -> int:
        """Successful GETs of paths ending in ``suffix``."""
        return sum(1 for path, status in self.requests if path.endswith(suffix) and status == 200)

    def _helm(self, *args: str) -> None:
        home = self.directory / "helm-home"
        env = {
            "HOME": str(home),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
            "PATH": "/usr/bin:/bin",
        }
        proc = subprocess.run(
            [str(self.helm), *args], env=env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"helm {' '.join(args)}: {proc.stderr}")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


_VALIDATORS = ("If-None-Match", "If-Modified-Since")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, repo: ChartRepo) -> None:
        self.repo = repo
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        del format, args

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.server.repo.requests.append((self.path, status))
        sent = {k: v for k in _VALIDATORS if (v := self.headers.get(k)) is not None}
        self.server.repo.log.append((self.path, status, sent))
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command == "GET":
            self.wfile.write(body)

    def do_GET(self) -> None:
        repo = self.server.repo
        expected = base64.b64encode(f"{repo.username}:{repo.password}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            self._reply(401, b"unauthorized", {"WWW-Authenticate": 'Basic realm="charts"'})
            return
        name = self.path.removeprefix("/charts/")
        path = repo.charts / name
        if "/" in name or not name or not path.is_file():
            self._reply(404, b"not found")
            return
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        mtime = int(path.stat().st_mtime)
        headers = {"Last-Modified": email.utils.formatdate(mtime, usegmt=True)}
        if repo.etags:
            headers["ETag"] = etag
        if self._not_modified(etag if repo.etags else "", mtime):
            self._reply(304, headers=headers)
            return
        self._reply(200, body, headers)

    def _not_modified(self, etag: str, mtime: int) -> bool:
        """RFC 9110 13.2.2: If-None-Match decides when sent; else If-Modified-Since."""
        match = self.headers.get("If-None-Match")
        if match is not None:
            return bool(etag) and match == etag
        since = self.headers.get("If-Modified-Since")
        if since is None:
            return False
        try:
            when = email.utils.parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False
        return mtime <= when
