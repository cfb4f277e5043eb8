"""The repo server: an Application's source to manifests, through git and a render cache.

Layer 3: glues :mod:`gitward.source` (revisions, mirrors, trees) and
:mod:`gitward.render` (directory, Kustomize, Helm) behind one call,
``await ManifestService().generate(app)``.
"""

from gitward.reposerver.cache import CacheKey, ManifestCache
from gitward.reposerver.errors import EmptyRender
from gitward.reposerver.service import Manifests, ManifestService, ManifestStats

__all__ = [
    "CacheKey",
    "EmptyRender",
    "ManifestCache",
    "ManifestService",
    "ManifestStats",
    "Manifests",
]
