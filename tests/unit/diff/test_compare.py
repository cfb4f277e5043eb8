"""Structural comparison: defaults are not differences, changes and removals are."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from gitward.diff import compare, parse_rules, quantity, unified
from gitward.model.errors import ConfigError
from gitward.sandbox import default_runner


def deployment(image: str = "nginx:1.27", replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": image,
                            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
                        }
                    ]
                },
            },
        },
    }


def as_live(desired: dict[str, Any], managed: dict[str, Any] | None = None) -> dict[str, Any]:
    """Desired as the server would return it: defaults added, bookkeeping present."""
    live = copy.deepcopy(desired)
    live["metadata"].update(
        {
            "uid": "1234",
            "resourceVersion": "99",
            "generation": 1,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "annotations": {"deployment.kubernetes.io/revision": "1"},
        }
    )
    if managed is not None:
        live["metadata"]["managedFields"] = [
            {"manager": "gitward", "operation": "Apply", "fieldsV1": managed}
        ]
    spec = live["spec"]
    spec.update({"revisionHistoryLimit": 10, "progressDeadlineSeconds": 600})
    container = spec["template"]["spec"]["containers"][0]
    container.update({"imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/x"})
    container["resources"]["requests"]["cpu"] = "500m"
    spec["template"]["spec"]["restartPolicy"] = "Always"
    live["status"] = {"replicas": 2}
    return live


async def test_server_defaults_are_not_differences() -> None:
    result = await compare(deployment(), as_live(deployment()))
    assert not result.modified
    assert unified(result, "apps/Deployment/prod/web") == ""


async def test_missing_live_object() -> None:
    result = await compare(deployment(), None)
    assert result.modified
    assert result.paths == ("(missing)",)


async def test_changed_field_is_named_and_shown() -> None:
    result = await compare(deployment(image="nginx:1.28"), as_live(deployment()))
    assert result.modified
    assert result.paths == ("spec.template.spec.containers[web].image",)
    text = unified(result, "web")
    assert "-      - image: nginx:1.27\n" in text
    assert "+      - image: nginx:1.28\n" in text


async def test_equal_quantities_in_other_spellings_are_equal() -> None:
    desired = deployment()
    desired["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] = {
        "cpu": "0.5",
        "memory": "1024Mi",
    }
    assert not (await compare(desired, as_live(deployment()))).modified


async def test_quantity_rules_do_not_apply_outside_resources() -> None:
    desired = deployment(image="1.0")
    assert (await compare(desired, as_live(deployment(image="1")))).modified


async def test_int_or_string_port() -> None:
    desired = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}
    desired["spec"] = {"ports": [{"port": 80, "targetPort": "8080"}]}
    live = copy.deepcopy(desired)
    live["spec"]["ports"][0].update({"targetPort": 8080, "protocol": "TCP"})
    live["spec"].update({"clusterIP": "10.0.0.12", "type": "ClusterIP"})
    assert not (await compare(desired, live)).modified


async def test_field_removed_from_git_but_owned_by_gitward_is_a_difference() -> None:
    managed = {
        "f:metadata": {"f:labels": {"f:app": {}, "f:tier": {}}},
        "f:spec": {"f:replicas": {}},
    }
    live = as_live(deployment(), managed)
    live["metadata"]["labels"]["tier"] = "frontend"
    result = await compare(deployment(), live)
    assert result.modified
    assert result.removed == ("metadata.labels.tier",)
    assert "# removed from Git: metadata.labels.tier" in unified(result, "web")


async def test_fields_other_managers_own_are_not_removals() -> None:
    live = as_live(deployment(), {"f:spec": {"f:replicas": {}}})
    live["metadata"]["managedFields"].append(
        {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:metadata": {"f:labels": {}}}}
    )
    live["metadata"]["labels"]["added-by-hand"] = "yes"
    assert not (await compare(deployment(), live)).modified


def configmap(data: dict[str, str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "cm", "namespace": "ns"}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def client_side_applied(applied: dict[str, Any]) -> dict[str, Any]:
    """``applied`` as the server keeps it after a client-side apply of it."""
    live = copy.deepcopy(applied)
    live["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)
    }
    live["metadata"]["resourceVersion"] = "7"
    return live


async def test_field_removed_from_git_after_a_client_side_apply_is_a_difference() -> None:
    before = configmap({"a": "1", "b": "2"}, labels={"team": "x", "tier": "web"})
    live = client_side_applied(before)
    now = configmap({"a": "1"}, labels={"team": "x"})
    result = await compare(now, live)
    assert result.modified
    assert set(result.removed) == {"data.b", "metadata.labels.tier"}
    assert not (await compare(before, live)).modified


async def test_fields_set_by_hand_next_to_a_client_side_apply_are_not_removals() -> None:
    live = client_side_applied(configmap({"a": "1"}))
    live["data"]["added-by-hand"] = "x"
    assert not (await compare(configmap({"a": "1"}), live)).modified


async def test_removed_list_item_is_a_difference() -> None:
    desired = deployment()
    live = as_live(deployment())
    live["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "x"})
    assert (await compare(desired, live)).modified


async def test_ignore_differences_json_pointer_and_jq() -> None:
    live = as_live(deployment(replicas=5, image="nginx:9"))
    rules = parse_rules(
        [
            {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]},
            {
                "group": "apps",
                "kind": "Deployment",
                "jqPathExpressions": [
                    '.spec.template.spec.containers[] | select(.name == "web") | .image'
                ],
            },
        ],
        jq=default_runner(),
    )
    assert (await compare(deployment(), live)).modified
    assert not (await compare(deployment(), live, rules)).modified


async def test_ignore_differences_by_managed_fields_manager() -> None:
    live = as_live(deployment(replicas=7))
    live["metadata"]["managedFields"] = [
        {
            "manager": "hpa-controller",
            "operation": "Update",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
        }
    ]
    rules = parse_rules(
        [{"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["hpa-controller"]}]
    )
    assert (await compare(deployment(replicas=2), live)).modified
    assert not (await compare(deployment(replicas=2), live, rules)).modified


def test_bad_jq_expression_names_the_entry() -> None:
    with pytest.raises(ConfigError, match=r"spec\.ignoreDifferences\[0\]\.jqPathExpressions\[0\]"):
        parse_rules([{"group": "apps", "kind": "Deployment", "jqPathExpressions": [".spec[["]}])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", "0.5"),
        ("1Gi", str(2**30)),
        ("2", "2"),
        ("1e3", "1000"),
        ("1.5k", "1500"),
        ("1E", "1e18"),  # E alone is the exa suffix, not an exponent
        ("1Ei", str(2**60)),
        ("2E3", "2000"),
    ],
)
def test_quantity(text: str, value: str) -> None:
    from decimal import Decimal

    assert quantity(text) == Decimal(value)


@pytest.mark.parametrize("text", ["6e7444370", "1e", "1.2.3", "1" * 100, "1Eii", "e3"])
def test_not_quantities(text: str) -> None:
    assert quantity(text) is None


async def test_list_map_keys_the_server_defaulted_are_not_removals() -> None:
    desired = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}
    desired["spec"] = {"ports": [{"port": 80, "targetPort": 8080}]}
    live = copy.deepcopy(desired)
    live["spec"]["ports"][0]["protocol"] = "TCP"
    key = 'k:{"port":80,"protocol":"TCP"}'
    live["metadata"]["managedFields"] = [
        {
            "manager": "gitward",
            "operation": "Apply",
            "fieldsV1": {"f:spec": {"f:ports": {key: {".": {}, "f:port": {}, "f:targetPort": {}}}}},
        }
    ]
    assert not (await compare(desired, live)).modified
    desired["spec"]["ports"] = [{"port": 81, "targetPort": 8080}]
    assert (await compare(desired, live)).modified


def test_an_ignore_entry_with_an_unknown_field_is_refused_naming_it() -> None:
    entry = {"group": "apps", "kind": "Deployment", "jsonPointer": ["/spec/replicas"]}
    with pytest.raises(ConfigError, match=r"^spec\.ignoreDifferences\[0\]\.jsonPointer: unknown"):
        parse_rules([entry])
