"""JSON Schemas for kubeconform, exported from a real API server's OpenAPI v3 documents.

kubeconform validates manifests against one standalone JSON Schema per kind; its usual
source is a download of schemas generated from Kubernetes' OpenAPI. Here they come from the
API server the tests run (Kubernetes 1.36.3, with gitward's CRDs installed), so what is
checked is exactly what that server would accept — and no network is needed. Each file holds
the kind's schema with every ``#/components/schemas/X`` reference rewritten to
``#/definitions/X`` and the definitions it needs copied in; strict mode adds
``additionalProperties: false`` wherever the schema lists properties and does not itself
keep unknown fields, so a misspelt field is an error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitward.cluster import KubeClient

TEMPLATE = "{{ .Group }}/{{ .ResourceAPIVersion }}/{{ .ResourceKind }}.json"


def _rewrite(node: Any, strict: bool) -> Any:
    if isinstance(node, dict):
        out = {k: _rewrite(v, strict) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            out["$ref"] = "#/definitions/" + ref[len("#/components/schemas/") :]
        if (
            strict
            and "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_rewrite(v, strict) for v in node]
    return node


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            found.add(ref[len("#/definitions/") :])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


async def export(kube: KubeClient, dest: Path, *, strict: bool = True) -> int:
    """Write a schema per kind the server serves under ``dest``; returns how many."""
    index = await kube.get_path("/openapi/v3")
    count = 0
    for path, entry in sorted(index.get("paths", {}).items()):
        url = entry.get("serverRelativeURL")
        if not isinstance(url, str):
            continue
        document = await kube.get_path(url)
        schemas = {
            name: _rewrite(schema, strict)
            for name, schema in (document.get("components") or {}).get("schemas", {}).items()
        }
        for schema in schemas.values():
            for gvk in schema.get("x-kubernetes-group-version-kind", []):
                group, version, kind = gvk.get("group", ""), gvk["version"], gvk["kind"]
                needed: set[str] = set()
                _refs(schema, needed)
                todo = list(needed)
                while todo:
                    name = todo.pop()
                    more: set[str] = set()
                    _refs(schemas.get(name, {}), more)
                    for extra in more - needed:
                        needed.add(extra)
                        todo.append(extra)
                standalone = {
                    **schema,
                    "definitions": {n: schemas[n] for n in needed if n in schemas},
                }
                folder = dest / (group or version) / version
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{kind.lower()}.json").write_text(json.dumps(standalone))
                count += 1
        del path
    return count
