"""A refresh: compare an Application and store the result in its status."""

from __future__ import annotations

from typing import Any

from gitward import diff
from gitward.cluster import KubeClient
from gitward.model.application import Application, parse_application
from gitward.sync.compare import Comparison, ManifestSource, compare_app
from gitward.sync.settings import Settings
from gitward.sync.status import write_status

Obj = dict[str, Any]


def parse_app_object(obj: Obj) -> Application:
    meta = obj.get("metadata") or {}
    return parse_application(obj, f"Application {meta.get('namespace')}/{meta.get('name')}")


class Refresher:
    """Compares Applications of one installation and records the outcome."""

    def __init__(self, client: KubeClient, settings: Settings, manifests: ManifestSource) -> None:
        self.client = client
        self.settings = settings
        self.manifests = manifests

    async def compare(self, app_obj: Obj, revision: str | None = None) -> Comparison:
        app = parse_app_object(app_obj)
        previous = (app_obj.get("status") or {}).get("resources") or []
        return await compare_app(
            self.client,
            app,
            self.manifests,
            self.settings,
            revision=revision,
            previous_resources=previous,
        )

    async def refresh(self, app_obj: Obj) -> tuple[Obj, Comparison]:
        """Compare and write status; return the stored Application and the comparison."""
        comparison = await self.compare(app_obj)
        stored = await write_status(self.client, app_obj, comparison)
        return stored, comparison

    @staticmethod
    def diffs(comparison: Comparison) -> list[tuple[str, str]]:
        """(label, unified diff) for every resource that differs."""
        found = []
        for state in comparison.resources:
            if state.hook:
                continue
            label = f"{state.key.group}/{state.key.kind} {state.key.namespace}/{state.key.name}"
            if state.requires_pruning:
                text = diff.unified(
                    diff.ResourceDiff(
                        True, live=diff.normalize_live(state.live or {}), target=None
                    ),
                    label,
                )
                found.append((label, text))
            elif state.difference is not None and state.difference.modified:
                found.append((label, diff.unified(state.difference, label)))
        return found
