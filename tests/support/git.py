"""Real git repositories for tests: made with the ``git`` command, served three ways.

A :class:`GitRepo` is a non-bare working repository that tests commit to. It is
reachable by ``file://`` directly, and through :class:`GitDaemon` (``git://``)
and :class:`SmartHttpServer` (``http://``, ``git http-backend`` behind a small
threaded HTTP server that can demand a bearer/basic token) on 127.0.0.1.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from gitward.localkube.process import free_ports, port_in_use

GIT_ENV = {
    "GIT_AUTHOR_NAME": "gitward tests",
    "GIT_AUTHOR_EMAIL": "tests@gitward.invalid",
    "GIT_COMMITTER_NAME": "gitward tests",
    "GIT_COMMITTER_EMAIL": "tests@gitward.invalid",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(*args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    """Run git and return stdout; raise with stderr on failure."""
    full_env = {**os.environ, **GIT_ENV, **(env or {})}
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=full_env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc.stdout


class GitRepo:
    """A working repository on disk, on branch ``main`` from the start."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        git("init", "--quiet", "--initial-branch=main", str(path))
        git("config", "receive.denyCurrentBranch", "updateInstead", cwd=path)
        git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=path)
        (path / ".git" / "git-daemon-export-ok").touch()

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def write(self, files: Mapping[str, str | None]) -> None:
        """Write (or, for None, delete) files relative to the repository root."""
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                if target.is_dir():
                    shutil.rmtree(target)
                else:
                    target.unlink(missing_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)

    def commit(self, files: Mapping[str, str | None], message: str = "change") -> str:
        """Write ``files``, commit everything, return the new commit SHA."""
        self.write(files)
        git("add", "--all", cwd=self.path)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.path)
        return self.head()

    def head(self, ref: str = "HEAD") -> str:
        return git("rev-parse", ref, cwd=self.path).strip()

    def branch(self, name: str, start: str = "HEAD") -> None:
        git("branch", "--force", name, start, cwd=self.path)

    def checkout(self, name: str) -> None:
        git("checkout", "--quiet", name, cwd=self.path)

    def tag(self, name: str, ref: str = "HEAD") -> None:
        git("tag", "--force", name, ref, cwd=self.path)


class GitDaemon:
    """``git daemon`` serving every repository under ``base`` on 127.0.0.1."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_ports(1)[0]
        self._proc = subprocess.Popen(
            [
                "git",
                "daemon",
                "--reuseaddr",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                f"--base-path={base}",
                "--export-all",
                "--enable=receive-pack",
                str(base),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not port_in_use(self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("git daemon did not start")
            time.sleep(0.02)

    def url(self, repo: GitRepo) -> str:
        return f"git://127.0.0.1:{self.port}/{repo.path.relative_to(self.base)}"

    def stop(self) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)


class _GitHttpHandler(BaseHTTPRequestHandler):
    server: _GitHttpServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _authorised(self) -> bool:
        token = self.server.token
        if token is None:
            return True
        header = self.headers.get("Authorization", "")
        if header == f"Bearer {token}":
            return True
        if header.startswith("Basic "):
            decoded = base64.b64decode(header[6:]).decode(errors="replace")
            return decoded.split(":", 1)[-1] == token
        return False

    def _serve(self) -> None:
        self.server.requests.append(f"{self.command} {self.path}")
        if not self._authorised():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            **os.environ,
            "GIT_PROJECT_ROOT": str(self.server.base),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "tests",
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
        }
        proc = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode(errors="replace").split("\r\n"):
            if not line:
                continue
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            else:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _serve
    do_POST = _serve


class _GitHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, base: Path, token: str | None) -> None:
        super().__init__(("127.0.0.1", 0), _GitHttpHandler)
        self.base = base
        self.token = token
        self.requests: list[str] = []


class SmartHttpServer:
    """Git's smart HTTP protocol on 127.0.0.1, optionally requiring ``token``."""

    def __init__(self, base: Path, token: str | None = None) -> None:
        self._server = _GitHttpServer(base, token)
        self.base = base
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def requests(self) -> list[str]:
        """Every request seen, as ``METHOD path`` (for counting git traffic)."""
        return self._server.requests

    def url(self, repo: GitRepo) -> str:
        return f"http://127.0.0.1:{self.port}/{repo.path.relative_to(self.base)}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
