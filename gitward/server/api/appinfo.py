"""``syncwindows`` and ``revisions/{revision}/metadata`` of an Application.

Sync windows are the app's project's, judged by the same rules the controller
applies (:mod:`gitward.projects.windows`). Revision metadata is read from the
server's Git mirror of the app's repository with the installation's
credentials; a revision is a full commit SHA or a name ``git ls-remote`` lists,
never an option (the repository's own listing decides what it means).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from aiohttp import web

from gitward.appstate import parse_app_object
from gitward.model.errors import GitwardError
from gitward.projects.windows import WindowState, applies, state
from gitward.reposerver import ManifestService
from gitward.server.api.common import REFRESHER, find_app, json_response
from gitward.server.errors import FailedPrecondition, InvalidArgument

Obj = dict[str, Any]
_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]{0,254}")


def _window(raw: WindowState) -> Obj:
    w = raw.window
    out: Obj = {
        "kind": w.kind,
        "schedule": w.schedule,
        "duration": w.duration,
        "manualSync": w.manual_sync,
    }
    for key, value in (
        ("applications", w.applications),
        ("namespaces", w.namespaces),
        ("clusters", w.clusters),
    ):
        if value:
            out[key] = list(value)
    if w.time_zone:
        out["timeZone"] = w.time_zone
    return out


async def sync_windows(request: web.Request) -> web.Response:
    """``{assignedWindows, activeWindows, canSync}`` for a manual sync now."""
    obj, _ = find_app(request, "get")
    refresher = request.app[REFRESHER]
    try:
        fence = await refresher.fence(obj)
    except GitwardError as exc:
        raise FailedPrecondition(str(exc)) from None
    app = parse_app_object(obj)
    now = dt.datetime.now(dt.UTC)
    assigned = [
        state(w, i, now)
        for i, w in enumerate(fence.project.sync_windows)
        if applies(w, app.name, fence.server, fence.cluster_name, app.destination.namespace)
    ]
    verdict = fence.window_verdict(app.name, app.destination.namespace, manual=True, now=now)
    return json_response(
        {
            "assignedWindows": [_window(s) for s in assigned],
            "activeWindows": [_window(s) for s in assigned if s.active],
            "canSync": verdict.allowed,
        }
    )


async def revision_metadata(request: web.Request) -> web.Response:
    """Author, date, message and tags of one commit of the app's (first) Git source."""
    obj, _ = find_app(request, "get")
    revision = request.match_info["revision"]
    if not _REVISION.fullmatch(revision) or ".." in revision:
        raise InvalidArgument("revision: not a valid revision")
    app = parse_app_object(obj)
    sources = [s for s in app.effective_sources if not s.chart]
    if not sources:
        raise FailedPrecondition("the application has no Git source")
    manifests = request.app[REFRESHER].manifests
    if not isinstance(manifests, ManifestService):
        raise FailedPrecondition("revision metadata needs the Git source")
    url = sources[0].repo_url
    store = manifests.credentials
    creds = store.lookup(url, app.project) if store is not None else None
    try:
        sha = await manifests.source.resolve(url, revision, creds)
        info = await manifests.source.commit_info(url, sha, creds)
    except GitwardError as exc:
        raise InvalidArgument(f"revision {revision}: {exc}") from None
    date = dt.datetime.fromtimestamp(info.committed_at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json_response(
        {"author": info.author, "date": date, "message": info.message, "tags": list(info.tags)}
    )


def add_routes(app: web.Application) -> None:
    base = "/api/v1/applications/{name}"
    app.router.add_get(f"{base}/syncwindows", sync_windows)
    app.router.add_get(f"{base}/revisions/{{revision}}/metadata", revision_metadata)
