"""Writes the real API server refuses: a ValidatingAdmissionPolicy and its binding.

Tests that need a write to fail (a record refused after a hook was created, a delivery
record refused until the server accepts it again) make the API server itself decide,
not a stand-in for the client.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from gitward.cluster import KubeClient, NotFound

ADMISSION = "admissionregistration.k8s.io/v1"


@contextlib.asynccontextmanager
async def refusing(
    kube: KubeClient,
    name: str,
    rule: dict[str, Any],
    expression: str,
    message: str,
    only_if: str | None = None,
) -> AsyncIterator[None]:
    """While open, the writes ``rule`` matches (and the CEL ``only_if`` selects) are refused
    with ``message`` unless the CEL ``expression`` holds. A policy takes a moment to be in
    force: the caller polls for its first refusal. Both objects are deleted afterwards."""
    spec: dict[str, Any] = {
        "failurePolicy": "Fail",
        "matchConstraints": {"resourceRules": [rule]},
        "validations": [{"expression": expression, "message": message}],
    }
    if only_if is not None:
        spec["matchConditions"] = [{"name": "only-if", "expression": only_if}]
    await kube.create(
        {
            "apiVersion": ADMISSION,
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": spec,
        }
    )
    try:
        await kube.create(
            {
                "apiVersion": ADMISSION,
                "kind": "ValidatingAdmissionPolicyBinding",
                "metadata": {"name": name},
                "spec": {"policyName": name, "validationActions": ["Deny"]},
            }
        )
        yield
    finally:
        await allow(kube, name)


async def allow(kube: KubeClient, name: str) -> None:
    """End the refusals of :func:`refusing` ``name`` early (nothing if already ended)."""
    for kind in ("ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy"):
        with contextlib.suppress(NotFound):
            await kube.delete(ADMISSION, kind, name, None)
