"""The repo server's own errors."""

from __future__ import annotations

from gitward.model.errors import RenderError
from gitward.model.repourl import redact_url


class EmptyRender(RenderError):
    """A source rendered to no objects, and the caller did not allow that.

    An empty result is never a silent success: to a sync it would mean "prune
    everything", so it is an error unless the caller passes ``allow_empty=True``
    (Argo CD's ``syncPolicy.automated.allowEmpty``).
    """

    def __init__(self, app: str, repo_url: str, path: str, revision: str) -> None:
        shown = redact_url(repo_url)
        super().__init__(
            f"application {app}: source {shown} path {path or '.'!r} at {revision[:12]} "
            "rendered no objects (an empty render is refused unless allowed)"
        )
        self.app = app
        self.repo_url = redact_url(repo_url)
        self.path = path
        self.revision = revision
