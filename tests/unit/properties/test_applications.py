"""Applications from arbitrary objects and YAML: a ConfigError or a usable Application."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from gitward.diff import parse_rules
from gitward.model.application import Application, load_applications, parse_application
from gitward.model.errors import GitwardError
from gitward.model.repourl import normalize_url, redact_url, url_slug
from gitward.model.source_spec import parse_source
from gitward.source.semver import parse_constraint
from tests.unit.properties.strategies import (
    json_objects,
    json_values,
    maybe,
    url_texts,
    yaml_texts,
)

words = st.text(max_size=10)
helm = st.fixed_dictionaries(
    {},
    optional={
        "releaseName": maybe(words),
        "valueFiles": maybe(st.lists(maybe(words), max_size=3)),
        "values": maybe(words),
        "valuesObject": json_values,
        "parameters": maybe(
            st.lists(maybe(st.fixed_dictionaries({"name": maybe(words), "value": maybe(words)})))
        ),
        "fileParameters": maybe(
            st.lists(maybe(st.fixed_dictionaries({"name": maybe(words), "path": maybe(words)})))
        ),
        "skipCrds": json_values,
    },
)
kustomize = st.fixed_dictionaries(
    {},
    optional={
        "namePrefix": maybe(words),
        "images": maybe(st.lists(maybe(words), max_size=3)),
        "replicas": maybe(
            st.lists(maybe(st.fixed_dictionaries({"name": maybe(words), "count": json_values})))
        ),
        "patches": maybe(st.lists(json_objects, max_size=2)),
        "commonLabels": maybe(st.dictionaries(words, maybe(words), max_size=3)),
    },
)
source = st.fixed_dictionaries(
    {"repoURL": maybe(st.one_of(st.just("https://github.com/org/repo.git"), url_texts))},
    optional={
        "path": maybe(words),
        "targetRevision": maybe(st.one_of(words, st.just("1" * 5000), st.just(">=1 " * 400))),
        "chart": maybe(words),
        "helm": maybe(helm),
        "kustomize": maybe(kustomize),
        "directory": maybe(
            st.fixed_dictionaries(
                {}, optional={"recurse": json_values, "include": maybe(words), "exclude": words}
            )
        ),
        "plugin": st.nothing(),
        "ref": maybe(words),
    },
)
ignore = st.fixed_dictionaries(
    {"kind": maybe(words)},
    optional={
        "group": maybe(words),
        "jsonPointers": maybe(st.lists(maybe(words), max_size=2)),
        "jqPathExpressions": maybe(st.lists(maybe(st.sampled_from([".a", "$ENV", ".a)"])))),
        "managedFieldsManagers": maybe(st.lists(words, max_size=2)),
    },
)
spec = st.fixed_dictionaries(
    {
        "source": maybe(source),
        "destination": maybe(
            st.fixed_dictionaries(
                {"server": maybe(st.sampled_from(["https://kubernetes.default.svc", "http://]"]))},
                optional={"namespace": maybe(words), "name": maybe(words)},
            )
        ),
    },
    optional={
        "sources": maybe(st.lists(maybe(source), max_size=2)),
        "project": maybe(words),
        "syncPolicy": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "automated": maybe(json_objects),
                    "syncOptions": maybe(st.lists(maybe(words), max_size=3)),
                    "retry": maybe(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "limit": json_values,
                                "backoff": maybe(
                                    st.fixed_dictionaries(
                                        {},
                                        optional={
                                            "duration": maybe(words),
                                            "factor": json_values,
                                            "maxDuration": maybe(words),
                                        },
                                    )
                                ),
                            },
                        )
                    ),
                    "managedNamespaceMetadata": maybe(json_objects),
                },
            )
        ),
        "ignoreDifferences": maybe(st.lists(maybe(ignore), max_size=2)),
        "revisionHistoryLimit": json_values,
    },
)
applications = st.fixed_dictionaries(
    {
        "apiVersion": maybe(st.just("argoproj.io/v1alpha1")),
        "kind": maybe(st.just("Application")),
        "metadata": maybe(
            st.fixed_dictionaries(
                {
                    "name": maybe(
                        st.sampled_from(["a", "my-app", "web.v2"])
                        | st.sampled_from(["A", "", "a" * 300])
                    )
                },
                optional={"namespace": maybe(words)},
            )
        ),
        "spec": maybe(spec),
    }
)


def _use(app: Application) -> None:
    """What the controller does with a parsed Application must not fail either."""
    for src in app.effective_sources:
        normalize_url(src.repo_url)
        redact_url(src.repo_url)
        url_slug(src.repo_url)
        parse_constraint(src.target_revision)
        src.to_dict()
        src.options_key()
        if src.helm is not None:
            src.helm.values_yaml()
    parse_rules(app.ignore_differences)
    if app.sync_policy and app.sync_policy.retry:
        app.sync_policy.retry.backoff.delay(3)


@given(applications)
@example({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": [], "spec": {}})
@example(
    {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "a"},
        "spec": {
            "source": {"repoURL": "http://]", "path": "."},
            "destination": {"server": "https://k", "namespace": "n"},
        },
    }
)
def test_application_objects_parse_or_fail_typed(obj: dict[str, Any]) -> None:
    try:
        app = parse_application(obj, "test")
    except GitwardError:
        return
    with contextlib.suppress(GitwardError):  # e.g. an unsafe jq expression, refused typed
        _use(app)


@given(source)
def test_sources_parse_or_fail_typed(data: dict[str, Any]) -> None:
    try:
        parse_source(data)
    except GitwardError:
        return


@given(yaml_texts)
@example(
    "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\nspec:\n"
    "  source: {repoURL: 'https://x/y', path: ., helm: {valuesObject: {a: !!float x}}}\n"
)
def test_application_files_parse_or_fail_typed(text: str) -> None:
    prefix = "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
    for candidate in (text, prefix + text):
        try:
            load_applications(candidate, "apps.yaml")
        except GitwardError:
            continue
