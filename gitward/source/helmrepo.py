"""Helm chart repositories: index.yaml, versions by semver, charts downloaded once by digest.

A chart source (``spec.source.chart`` with an HTTP(S) ``repoURL``) is resolved
here, in gitward, never by a tool: ``helm template`` only ever sees a chart
already on local disk, inside its jail. Three caches, cheapest first:

- the parsed index of each repository, kept ``index_ttl`` seconds in memory
  and revalidated after that with ``If-None-Match`` / ``If-Modified-Since``
  (a 304 costs one round trip and no parse);
- chart archives by their SHA-256 (``charts/sha256/<digest>.tgz``); the
  digest the index promises is checked before an archive is kept, so a
  tampered download is refused, and a version is downloaded once;
- unpacked charts by the same digest, extracted with :mod:`tarfile`'s
  ``data`` filter (no absolute paths, no ``..``, no links out, no devices)
  and a bound on entries and bytes.

Credentials come from the repository Secret whose URL matches (basic auth,
client certificate, ``insecure``); they are sent only to the repository's
own origin, unless the source says ``helm.passCredentials`` — as Helm does —
so an index listing a chart on another host cannot collect them.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import os
import shutil
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp
import yaml

from gitward._util.hashing import digest_of
from gitward._util.tasks import shared_task
from gitward.model.errors import SourceError
from gitward.model.repourl import normalize_url, redact_url
from gitward.source.credentials import RepoCredentials
from gitward.source.http import HTTPFetchError, TLSCerts, check_url, origin, read_limited
from gitward.source.http import ssl_context as make_ssl
from gitward.source.locks import KeyedLocks
from gitward.source.semver import parse_constraint, parse_version

log = logging.getLogger("gitward.source")

#: A chart archive may hold at most this many entries and bytes once unpacked.
MAX_CHART_FILES = 10_000
MAX_CHART_BYTES = 256 * 1024 * 1024


class ChartNotFound(SourceError):
    """The repository has no chart of that name, or no version matching the constraint."""


class ChartIntegrityError(SourceError):
    """A downloaded chart does not match its index digest, or is not a safe archive."""


@dataclass(frozen=True)
class ChartVersion:
    """One entry of an index: what to download and what it must hash to."""

    name: str
    version: str
    urls: tuple[str, ...]
    digest: str = ""


@dataclass
class _Index:
    entries: dict[str, list[dict[str, Any]]]
    etag: str
    modified: str
    fresh_until: float


def cache_base() -> Path:
    env = os.environ.get("GITWARD_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "gitward"


def index_url(repo_url: str) -> str:
    return repo_url.rstrip("/") + "/index.yaml"


def parse_index(data: bytes, url: str) -> dict[str, list[dict[str, Any]]]:
    """The ``entries`` of an index.yaml; a :class:`SourceError` naming the repository if bad."""
    try:
        doc = yaml.load(data, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise SourceError(f"{redact_url(url)}:{line} index.yaml is not valid YAML") from None
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(entries, dict):
        raise SourceError(f"{redact_url(url)}: index.yaml has no entries mapping")
    return {
        str(name): [v for v in versions if isinstance(v, dict)]
        for name, versions in entries.items()
        if isinstance(versions, list)
    }


def pick_version(
    entries: dict[str, list[dict[str, Any]]], chart: str, wanted: str, url: str
) -> ChartVersion:
    """The version of ``chart`` that ``wanted`` (an exact version or a semver range) names.

    An exact version wins when the index has it; otherwise the highest version
    the constraint allows (no pre-releases unless it names one), as Argo CD
    resolves ``targetRevision`` for Helm charts. Empty, ``*`` and ``latest``
    mean the newest stable version.
    """
    versions = entries.get(chart)
    if not versions:
        raise ChartNotFound(f"{redact_url(url)}: no chart named {chart!r} in the index")
    wanted = wanted.strip()
    if wanted in ("", "*", "latest", "HEAD"):
        wanted = "*"
    by_version = {str(v.get("version", "")): v for v in versions}
    entry = by_version.get(wanted) or by_version.get(wanted.lstrip("v"))
    if entry is None:
        constraint = parse_constraint(wanted)
        if constraint is None:
            raise ChartNotFound(
                f"{redact_url(url)}: chart {chart!r}: {wanted!r} is neither a version in the "
                "index nor a semver constraint"
            )
        best = constraint.best((name, v) for name, v in by_version.items() if parse_version(name))
        if best is None:
            known = sorted((v for v in map(parse_version, by_version) if v), key=lambda v: v.key())
            shown = ", ".join(v.original for v in known[-8:]) or "no semver versions"
            raise ChartNotFound(
                f"{redact_url(url)}: chart {chart!r} has no version matching {wanted!r} "
                f"(has {shown})"
            )
        entry = best[1]
    urls = entry.get("urls")
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise SourceError(f"{redact_url(url)}: chart {chart!r} {entry.get('version')}: no urls")
    return ChartVersion(
        name=chart,
        version=str(entry.get("version", "")),
        urls=tuple(urls),
        digest=str(entry.get("digest") or "").lower(),
    )


def _extract(archive: bytes, dest: Path, what: str) -> None:
    """Extract a (gzipped) tar safely into ``dest``: data filter, no links, bounded."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
            members = tar.getmembers()
            if len(members) > MAX_CHART_FILES:
                raise ChartIntegrityError(f"{what}: more than {MAX_CHART_FILES} entries")
            if sum(m.size for m in members) > MAX_CHART_BYTES:
                raise ChartIntegrityError(f"{what}: more than {MAX_CHART_BYTES} bytes unpacked")
            for member in members:
                if member.issym() or member.islnk():
                    raise ChartIntegrityError(f"{what}: {member.name}: links are refused")
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ChartIntegrityError(f"{what}: not a chart archive: {exc}") from None


def unpack_chart(archive: bytes, dest: Path, what: str) -> Path:
    """Extract a chart archive into ``dest`` safely; return the chart's top directory."""
    _extract(archive, dest, what)
    tops = [p for p in dest.iterdir() if p.is_dir()]
    charts = [p for p in tops if (p / "Chart.yaml").is_file()]
    if len(charts) != 1:
        raise ChartIntegrityError(f"{what}: expected one chart directory with a Chart.yaml")
    return charts[0]


def unpack_archive(archive: bytes, dest: Path, what: str) -> Path:
    """Extract a tree of manifests to ``dest/tree`` once, renamed into place when complete."""
    staging = dest.with_name(f".{dest.name}.{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "tree").mkdir(parents=True)
    _extract(archive, staging / "tree", what)
    for path in (staging, *staging.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (staging / ".gitward-tree").write_text(what)
    if dest.exists():
        shutil.rmtree(staging, ignore_errors=True)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(dest)
    return dest / "tree"


class HelmRepos:
    """Indexes and charts of every Helm repository this process reads; safe to share."""

    def __init__(
        self,
        cache_dir: Path | None = None,
        *,
        timeout: float = 60.0,
        index_ttl: float = 3.0,
        certs: TLSCerts | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache_dir = (cache_dir or cache_base()) / "charts"
        self.timeout = timeout
        self.index_ttl = index_ttl
        self.certs = certs
        self.clock = clock
        self._indexes: dict[str, _Index] = {}
        self._fetching: dict[str, asyncio.Task[_Index]] = {}
        self._locks = KeyedLocks()
        self.downloads = 0
        self.index_fetches = 0

    def forget_indexes(self) -> None:
        """A hard refresh: the next resolve revalidates every index."""
        for index in self._indexes.values():
            index.fresh_until = 0.0

    async def _get(
        self,
        url: str,
        creds: RepoCredentials | None,
        headers: dict[str, str] | None = None,
        *,
        send_credentials: bool = True,
    ) -> tuple[int, bytes, dict[str, str]]:
        check_url(url, "chart URL")
        sent = dict(headers or {})
        if creds is not None and send_credentials and creds.password:
            sent["Authorization"] = aiohttp.encode_basic_auth(creds.username or "", creds.password)
        auth = "Authorization" in sent
        ssl = make_ssl(url, creds if send_credentials else None, self.certs)
        if creds is not None and creds.insecure:
            ssl = False
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout, trust_env=False) as session,
                session.get(
                    url,
                    headers=sent,
                    ssl=ssl,
                    proxy=(creds.proxy or None) if creds else None,
                    allow_redirects=False,
                ) as response,
            ):
                # Lower-cased names: aiohttp spells them its own way ("Etag"), and a plain
                # dict of them is no longer case-insensitive.
                got = {name.lower(): value for name, value in response.headers.items()}
                if response.status == 304:
                    return 304, b"", got
                if response.status in (401, 403):
                    detail = "credentials refused" if auth else "authentication required"
                    raise HTTPFetchError(url, f"HTTP {response.status}: {detail}", response.status)
                if response.status != 200:
                    raise HTTPFetchError(url, f"HTTP {response.status}", response.status)
                body = await read_limited(response, url)
                return 200, body, got
        except aiohttp.ClientError as exc:
            raise HTTPFetchError(url, f"cannot fetch: {exc}") from None
        except TimeoutError:
            raise HTTPFetchError(url, f"no answer within {self.timeout:g}s") from None

    async def index(
        self, repo_url: str, creds: RepoCredentials | None = None, *, force: bool = False
    ) -> dict[str, list[dict[str, Any]]]:
        """The entries of ``repo_url``'s index.yaml (cached, revalidated after the TTL)."""
        check_url(repo_url)
        key = normalize_url(repo_url)
        cached = self._indexes.get(key)
        if cached is not None and not force and self.clock() < cached.fresh_until:
            return cached.entries
        task = self._fetching.get(key)
        if task is None:
            task = shared_task(self._fetch_index(repo_url, key, creds))
            self._fetching[key] = task
            task.add_done_callback(lambda _t: self._fetching.pop(key, None))
        return (await asyncio.shield(task)).entries

    async def _fetch_index(self, repo_url: str, key: str, creds: RepoCredentials | None) -> _Index:
        url = index_url(repo_url)
        cached = self._indexes.get(key)
        headers: dict[str, str] = {}
        if cached is not None:
            if cached.etag:
                headers["If-None-Match"] = cached.etag
            if cached.modified:
                headers["If-Modified-Since"] = cached.modified
        self.index_fetches += 1
        status, body, got = await self._get(url, creds, headers)
        if status == 304 and cached is not None:
            cached.fresh_until = self.clock() + self.index_ttl
            return cached
        entries = await asyncio.to_thread(parse_index, body, url)
        index = _Index(
            entries,
            got.get("etag", ""),
            got.get("last-modified", ""),
            self.clock() + self.index_ttl,
        )
        self._indexes[key] = index
        return index

    async def resolve(
        self,
        repo_url: str,
        chart: str,
        wanted: str,
        creds: RepoCredentials | None = None,
        *,
        force: bool = False,
    ) -> ChartVersion:
        """The chart version ``wanted`` names in ``repo_url``'s index."""
        entries = await self.index(repo_url, creds, force=force)
        return pick_version(entries, chart, wanted, repo_url)

    async def fetch(
        self,
        repo_url: str,
        version: ChartVersion,
        creds: RepoCredentials | None = None,
        *,
        pass_credentials: bool = False,
    ) -> Path:
        """The unpacked chart directory of ``version`` (downloaded once, digest checked)."""
        base = repo_url.rstrip("/") + "/"
        url = check_url(urljoin(base, version.urls[0]), "chart URL in index.yaml")
        same = origin(url) == origin(repo_url)
        name = f"{repo_url}|{version.name}|{version.version}|{version.digest}"
        key = version.digest or digest_of([name], 32)
        unpacked = self.cache_dir / "unpacked" / key
        async with self._locks(key):
            found = chart_dir(unpacked)
            if found is not None:
                return found
            _, body, _ = await self._get(url, creds, send_credentials=same or pass_credentials)
            self.downloads += 1
            digest = hashlib.sha256(body).hexdigest()
            what = f"chart {version.name} {version.version} from {redact_url(url)}"
            if version.digest and digest != version.digest:
                raise ChartIntegrityError(
                    f"{what}: sha256 {digest} does not match the index's digest {version.digest}"
                )
            archive = self.cache_dir / "sha256" / f"{digest}.tgz"
            return await asyncio.to_thread(store_chart, body, archive, unpacked, what)


def chart_dir(unpacked: Path) -> Path | None:
    """The chart directory a finished unpack left in ``unpacked``, None if there is none."""
    marker = unpacked / ".gitward-chart"
    if not marker.is_file():
        return None
    return unpacked / str(json.loads(marker.read_text())["dir"])


def store_chart(body: bytes, archive: Path, unpacked: Path, what: str) -> Path:
    """Keep the archive and an unpacked copy, each renamed into place only when complete."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    tmp = archive.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(body)
    tmp.replace(archive)
    staging = unpacked.with_name(f".{unpacked.name}.{os.getpid()}")
    staging.mkdir(parents=True, exist_ok=True)
    top = unpack_chart(body, staging, what)
    for path in (staging, *staging.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (staging / ".gitward-chart").write_text(json.dumps({"dir": top.name}))
    if unpacked.exists():
        shutil.rmtree(staging, ignore_errors=True)
    else:
        staging.rename(unpacked)
    found = chart_dir(unpacked)
    if found is None:
        raise ChartIntegrityError(f"{what}: unpacked chart vanished from {unpacked}")
    return found
