"""An automated sync is due again when the app's source changed since its last sync, as in
Argo CD (parameters and Kustomize images change what one revision renders)."""

from __future__ import annotations

from typing import Any

from gitward.controller.reconciler import _attempt, _state
from gitward.controller.reconciler import _source_changed as source_changed

SOURCE = {"repoURL": "https://git.example/shop.git", "path": "app"}


def _source_changed(obj: dict[str, Any]) -> bool:
    return source_changed(_state(obj), obj)


def app(spec: dict[str, Any], result: dict[str, Any], phase: str = "Succeeded") -> dict[str, Any]:
    state = {"phase": phase, "syncResult": {"revision": "abc", **result}}
    return {"spec": spec, "status": {"operationState": state}}


def test_a_changed_source_is_due_again() -> None:
    images = {**SOURCE, "kustomize": {"images": ["shop:1.2.0"]}}
    assert not _source_changed(app({"source": SOURCE}, {"source": SOURCE}))
    assert _source_changed(app({"source": images}, {"source": SOURCE}))
    # Only a successful sync counts: a failed one is the retry policy's business.
    assert not _source_changed(app({"source": images}, {"source": SOURCE}, "Failed"))
    assert not _source_changed({"spec": {"source": SOURCE}})


def test_multiple_sources_are_compared_whole() -> None:
    other = {**SOURCE, "path": "other"}
    assert not _source_changed(app({"sources": [SOURCE]}, {"sources": [SOURCE]}))
    assert _source_changed(app({"sources": [SOURCE, other]}, {"sources": [SOURCE]}))


def test_a_failed_attempt_is_its_revision_and_source() -> None:
    images = {**SOURCE, "kustomize": {"images": ["shop:1.2.0"]}}
    assert _attempt("abc", {"spec": {"source": SOURCE}}) == _attempt(
        "abc", {"spec": {"source": dict(reversed(SOURCE.items()))}}
    )
    assert _attempt("abc", {"spec": {"source": SOURCE}}) != _attempt(
        "abc", {"spec": {"source": images}}
    )
    assert _attempt("abc", {"spec": {"source": SOURCE}}) != _attempt(
        "abd", {"spec": {"source": SOURCE}}
    )
