"""The CustomResourceDefinitions gitward serves: Argo CD's own three kinds.

The group, versions, names and short names are Argo CD's, so manifests and
tools written for Argo CD (``kubectl get applications -n argocd``, ``kubectl
get app``) work unchanged. The schemas validate the top-level shape and keep
every field inside ``spec``, ``status`` and ``operation``
(``x-kubernetes-preserve-unknown-fields``): gitward validates specs itself,
with messages that name the field, and a user's field that gitward does not
know yet must survive a round trip rather than be pruned by the API server.
"""

from __future__ import annotations

from typing import Any

from gitward.model.kinds import APP_PROJECT, APPLICATION, APPLICATION_SET, GROUP, VERSION

Obj = dict[str, Any]

_OPEN_OBJECT: Obj = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def _schema(required_spec: bool, with_operation: bool) -> Obj:
    properties: Obj = {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": dict(_OPEN_OBJECT),
        "status": dict(_OPEN_OBJECT),
    }
    if with_operation:
        properties["operation"] = dict(_OPEN_OBJECT)
    schema: Obj = {"type": "object", "properties": properties}
    if required_spec:
        schema["required"] = ["metadata", "spec"]
    return schema


def _crd(
    kind: str,
    plural: str,
    short_names: list[str],
    columns: list[Obj],
    with_operation: bool = False,
) -> Obj:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{GROUP}",
            "labels": {"app.kubernetes.io/part-of": "gitward"},
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short_names,
                "categories": ["argoproj"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": _schema(True, with_operation)},
                }
            ],
        },
    }


def crds() -> list[Obj]:
    """Application, AppProject and ApplicationSet definitions."""
    age = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
    return [
        _crd(
            APPLICATION,
            "applications",
            ["app", "apps"],
            [
                {"name": "Sync Status", "type": "string", "jsonPath": ".status.sync.status"},
                {"name": "Health Status", "type": "string", "jsonPath": ".status.health.status"},
                {
                    "name": "Revision",
                    "type": "string",
                    "jsonPath": ".status.sync.revision",
                    "priority": 10,
                },
                age,
            ],
            with_operation=True,
        ),
        _crd(APP_PROJECT, "appprojects", ["appproj", "appprojs"], [age]),
        _crd(APPLICATION_SET, "applicationsets", ["appset", "appsets"], [age]),
    ]
