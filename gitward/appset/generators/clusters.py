"""The ``clusters`` generator: one parameter set per registered cluster.

Clusters are the Secrets labelled ``argocd.argoproj.io/secret-type: cluster``
in the ApplicationSet's namespace that match ``selector`` (ANDed with that
label). Parameters: ``name``, ``nameNormalized``, ``server``, ``project`` and
the Secret's labels and annotations (``metadata.labels.<k>`` in fasttemplate,
``metadata.labels`` as a map in goTemplate), plus ``values`` templated with
those. With an empty selector the cluster gitward runs in is included as
``in-cluster`` (``https://kubernetes.default.svc``) unless a Secret registers
that URL already. ``flatList: true`` gives one set holding every cluster as
``clusters``. Sets come sorted by cluster name (Argo CD's order is a Go map's).
"""

from __future__ import annotations

from typing import Any

from gitward._util.secretdata import SecretDataError, secret_fields
from gitward.appset.generators.base import Context, GeneratorError, mapping, templated_values
from gitward.appset.match import check_selector, selector_is_empty, selector_matches
from gitward.appset.params import Params, sanitize_name
from gitward.model.destination import IN_CLUSTER_NAME, IN_CLUSTER_SERVER


def cluster_params(secret: dict[str, Any], go_template: bool, where: str) -> Params:
    meta = secret.get("metadata") or {}
    try:
        fields = secret_fields(secret)
    except SecretDataError as exc:
        raise GeneratorError(where, f"Secret {meta.get('name')}: {exc}") from None
    name = fields.get("name", "")
    params: Params = {
        "name": name,
        "nameNormalized": sanitize_name(name),
        "server": fields.get("server", ""),
        "project": fields.get("project", ""),
    }
    labels = dict(meta.get("labels") or {})
    annotations = dict(meta.get("annotations") or {})
    if go_template:
        nested: Params = {}
        if annotations:
            nested["annotations"] = annotations
        if labels:
            nested["labels"] = labels
        params["metadata"] = nested
    else:
        for key, value in annotations.items():
            params[f"metadata.annotations.{key}"] = value
        for key, value in labels.items():
            params[f"metadata.labels.{key}"] = value
    return params


async def generate(ctx: Context, spec: Any, where: str) -> list[Params]:
    spec = mapping(spec, where)
    selector = check_selector(spec.get("selector"), f"{where}.selector")
    secrets = await ctx.sources.cluster_secrets()
    matching = [
        s
        for s in secrets
        if selector_matches(selector, (s.get("metadata") or {}).get("labels") or {}, where)
    ]
    found: list[Params] = []
    for secret in matching:
        found.append(cluster_params(secret, ctx.go_template, where))
    found.sort(key=lambda p: (str(p["name"]), str(p["server"])))
    by_name: dict[str, Params] = {}
    for params in found:
        by_name[str(params["name"])] = params  # one per name, as Argo CD keys them
    sets = list(by_name.values())
    registers_in_cluster = any(str(p["server"]).rstrip("/") == IN_CLUSTER_SERVER for p in found)
    if selector_is_empty(selector) and not registers_in_cluster:
        local: Params = {
            "name": IN_CLUSTER_NAME,
            "nameNormalized": IN_CLUSTER_NAME,
            "server": IN_CLUSTER_SERVER,
            "project": "",
        }
        sets.insert(0, local)
    sets = await templated_values(ctx, spec.get("values"), sets, where)
    if spec.get("flatList"):
        return [{"clusters": sets}]
    return sets
