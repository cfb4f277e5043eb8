"""Templates to Applications: finalizer, namespace, templatePatch, empty parameter sets."""

from __future__ import annotations

import pytest

from gitward.appset.generators import run_generators
from gitward.appset.template import (
    RESOURCES_FINALIZER,
    TemplateError,
    merge_patch,
    render_applications,
)
from gitward.model.applicationset import ApplicationSet
from tests.unit.appset.support import appset, context


async def apps_of(spec: ApplicationSet) -> list[dict]:
    ctx = context(spec)
    return [d.app for d in await render_applications(spec, await run_generators(ctx), ctx.renderer)]


def brief(**spec_extra: object) -> dict:
    spec: dict = {
        "generators": [{"list": {"elements": [{"name": "a", "server": "https://a"}]}}],
        "template": {
            "metadata": {
                "name": "{{name}}-myapp",
                "namespace": "elsewhere",
                "labels": {"app": "{{name}}"},
            },
            "spec": {
                "source": {"repoURL": "https://g/r.git", "path": "manifests"},
                "destination": {"server": "{{server}}", "namespace": "myapp"},
            },
        },
    }
    spec.update(spec_extra)
    return spec


async def test_the_brief_template_fills_in_and_gets_argo_cds_finishing() -> None:
    (app,) = await apps_of(appset(brief()))
    assert app["apiVersion"] == "argoproj.io/v1alpha1"
    assert app["kind"] == "Application"
    assert app["metadata"]["name"] == "a-myapp"
    assert app["metadata"]["namespace"] == "argocd"  # the set's namespace, never the template's
    assert app["metadata"]["labels"] == {"app": "a"}
    assert app["metadata"]["finalizers"] == [RESOURCES_FINALIZER]
    assert app["spec"]["destination"] == {"server": "https://a", "namespace": "myapp"}


async def test_preserve_resources_on_deletion_means_no_finalizer() -> None:
    (app,) = await apps_of(appset(brief(syncPolicy={"preserveResourcesOnDeletion": True})))
    assert "finalizers" not in app["metadata"]


async def test_a_generator_template_overrides_the_sets() -> None:
    spec = brief()
    spec["generators"][0]["list"]["template"] = {"metadata": {"name": "own-{{name}}"}}
    (app,) = await apps_of(appset(spec))
    assert app["metadata"]["name"] == "own-a"
    assert app["spec"]["source"]["path"] == "manifests"  # completed from spec.template


async def test_template_patch_merges_but_never_changes_the_project() -> None:
    patch = (
        "metadata:\n  annotations: {a: '{{name}}'}\n"
        "spec:\n  project: evil\n  source:\n    path: other\n"
    )
    spec = brief(templatePatch=patch)
    spec["template"]["spec"]["project"] = "default"
    (app,) = await apps_of(appset(spec))
    assert app["metadata"]["annotations"] == {"a": "a"}
    assert app["spec"]["source"] == {"repoURL": "https://g/r.git", "path": "other"}
    assert app["spec"]["project"] == "default"


def test_merge_patch_unions_finalizers_and_deletes_nulls() -> None:
    target = {
        "metadata": {"finalizers": ["a"], "labels": {"x": "1", "y": "2"}},
        "spec": {"l": [1, 2]},
    }
    patch = {"metadata": {"finalizers": ["b", "a"], "labels": {"y": None}}, "spec": {"l": [3]}}
    assert merge_patch(target, patch) == {
        "metadata": {"finalizers": ["a", "b"], "labels": {"x": "1"}},
        "spec": {"l": [3]},
    }


async def test_an_empty_parameter_set_leaves_the_template_as_written() -> None:
    spec = brief()
    spec["generators"] = [{"list": {"elements": [{}]}}]
    (app,) = await apps_of(appset(spec))
    assert app["metadata"]["name"] == "{{name}}-myapp"  # Argo CD does not render it either


async def test_a_broken_template_names_the_generator_and_set() -> None:
    spec = brief()
    spec["template"]["spec"]["source"]["path"] = "{{name}} {{oops"
    with pytest.raises(
        TemplateError, match=r"spec.generators\[0\].list: parameter set 1: invalid template"
    ):
        await apps_of(appset(spec))
