"""Generators in fasttemplate mode: list, clusters, git directories and files, matrix, merge."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.appset.generators import GeneratorError, run_generators
from gitward.appset.generators.git import parse_parameter_file
from gitward.appset.generators.listgen import parse_elements_yaml
from tests.unit.appset.support import DictSources, appset, cluster_secret, context


async def params_of(spec: dict, sources: DictSources | None = None) -> list[dict]:
    generated = await run_generators(context(appset(spec), sources))
    return [p for g in generated for p in g.params]


async def test_list_elements_and_values() -> None:
    found = await params_of(
        {
            "generators": [
                {"list": {"elements": [{"cluster": "a", "values": {"x": "1"}}, {"cluster": "b"}]}}
            ]
        }
    )
    assert found == [{"cluster": "a", "values.x": "1"}, {"cluster": "b"}]


async def test_list_refuses_non_string_values_in_fasttemplate_mode() -> None:
    with pytest.raises(GeneratorError, match=r"elements\[0\]\.n: error parsing value as string"):
        await params_of({"generators": [{"list": {"elements": [{"n": 3}]}}]})


async def test_list_elements_yaml_is_appended() -> None:
    found = await params_of({"generators": [{"list": {"elementsYaml": "- a: b\n- a: c\n"}}]})
    assert found == [{"a": "b"}, {"a": "c"}]


async def test_clusters_with_in_cluster_when_the_selector_is_empty() -> None:
    sources = DictSources([cluster_secret("far", "https://far:6443", {"env": "prod"})])
    found = await params_of(
        {"generators": [{"clusters": {"values": {"v": "{{name}}-x"}}}]}, sources
    )
    assert [p["name"] for p in found] == ["in-cluster", "far"]
    far = found[1]
    assert far["server"] == "https://far:6443"
    assert far["nameNormalized"] == "far"
    assert far["metadata.labels.env"] == "prod"
    assert far["metadata.annotations.note"] == "n"
    assert far["values.v"] == "far-x"


async def test_clusters_selector_leaves_in_cluster_out_and_filters() -> None:
    sources = DictSources(
        [
            cluster_secret("a", "https://a", {"env": "prod"}),
            cluster_secret("b", "https://b", {"env": "dev"}),
        ]
    )
    found = await params_of(
        {"generators": [{"clusters": {"selector": {"matchLabels": {"env": "prod"}}}}]}, sources
    )
    assert [p["name"] for p in found] == ["a"]


async def test_a_secret_for_the_in_cluster_url_replaces_the_synthetic_entry() -> None:
    sources = DictSources([cluster_secret("local", "https://kubernetes.default.svc")])
    found = await params_of({"generators": [{"clusters": {}}]}, sources)
    assert [p["name"] for p in found] == ["local"]


async def test_clusters_flat_list() -> None:
    sources = DictSources([cluster_secret("a", "https://a")])
    found = await params_of({"generators": [{"clusters": {"flatList": True}}]}, sources)
    assert len(found) == 1
    assert [c["name"] for c in found[0]["clusters"]] == ["in-cluster", "a"]


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


async def test_git_directories_with_exclude_and_dot_directories(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "apps/a/x.yaml": "",
            "apps/b/x.yaml": "",
            "apps/skip/x.yaml": "",
            "apps/.hid/x.yaml": "",
            "top.txt": "",
        },
    )
    sources = DictSources(trees={"https://g/r.git": root})
    spec = {
        "repoURL": "https://g/r.git",
        "revision": "main",
        "directories": [{"path": "apps/*"}, {"path": "apps/skip", "exclude": True}],
    }
    found = await params_of({"generators": [{"git": spec}]}, sources)
    assert [p["path"] for p in found] == ["apps/a", "apps/b"]
    assert found[0]["path.basename"] == "a"
    assert found[0]["path[0]"] == "apps"
    assert found[0]["path[1]"] == "a"
    assert found[0]["commitSHA"] == "0" * 40


async def test_git_files_flattened_with_path_params(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "envs/dev/config.json": '{"env": "dev", "replicas": 3, "deep": {"k": [true]}}',
            "envs/prod/config.json": '[{"env": "prod-a"}, {"env": "prod-b"}]',
            "envs/dev/other.json": "{}",
        },
    )
    sources = DictSources(trees={"https://g/r.git": root})
    spec = {
        "repoURL": "https://g/r.git",
        "files": [{"path": "envs/*/config.json"}],
        "pathParamPrefix": "p",
    }
    found = await params_of({"generators": [{"git": spec}]}, sources)
    assert [p["env"] for p in found] == ["dev", "prod-a", "prod-b"]
    dev = found[0]
    assert dev["replicas"] == "3"
    assert dev["deep.k.0"] == "true"
    assert dev["p.path"] == "envs/dev"
    assert dev["p.path.filename"] == "config.json"
    assert dev["p.path.basenameNormalized"] == "dev"


async def test_git_files_refuse_a_symlink_out_of_the_tree(tmp_path: Path) -> None:
    root = tree(tmp_path / "repo", {"envs/a/ok.json": "{}"})
    (tmp_path / "secret.json").write_text('{"token": "hunter2"}')
    (root / "envs" / "b").mkdir()
    (root / "envs" / "b" / "config.json").symlink_to(tmp_path / "secret.json")
    sources = DictSources(trees={"https://g/r.git": root})
    spec = {"repoURL": "https://g/r.git", "files": [{"path": "envs/*/config.json"}]}
    with pytest.raises(GeneratorError, match="symlink pointing outside the repository") as caught:
        await params_of({"generators": [{"git": spec}]}, sources)
    assert "hunter2" not in str(caught.value)


async def test_matrix_interpolates_later_children_and_combines() -> None:
    spec = {
        "generators": [
            {
                "matrix": {
                    "generators": [
                        {"list": {"elements": [{"env": "dev"}, {"env": "prod"}]}},
                        {"list": {"elements": [{"app": "{{env}}-web"}, {"app": "{{env}}-db"}]}},
                        {"list": {"elements": [{"region": "eu"}]}},
                    ]
                }
            }
        ]
    }
    found = await params_of(spec)
    assert [(p["env"], p["app"], p["region"]) for p in found] == [
        ("dev", "dev-web", "eu"),
        ("dev", "dev-db", "eu"),
        ("prod", "prod-web", "eu"),
        ("prod", "prod-db", "eu"),
    ]


async def test_matrix_with_an_empty_child_is_empty() -> None:
    spec = {
        "generators": [
            {
                "matrix": {
                    "generators": [{"list": {"elements": []}}, {"list": {"elements": [{"a": "b"}]}}]
                }
            }
        ]
    }
    assert await params_of(spec) == []


async def test_matrix_refuses_conflicting_keys_in_fasttemplate_mode() -> None:
    spec = {
        "generators": [
            {
                "matrix": {
                    "generators": [
                        {"list": {"elements": [{"a": "1"}]}},
                        {"list": {"elements": [{"a": "2"}]}},
                    ]
                }
            }
        ]
    }
    with pytest.raises(GeneratorError, match="duplicate key a"):
        await params_of(spec)


async def test_nested_matrix_deeper_than_argo_allows() -> None:
    inner = {
        "matrix": {
            "generators": [
                {"list": {"elements": [{"b": "1"}]}},
                {"list": {"elements": [{"c": "2"}, {"c": "3"}]}},
            ]
        }
    }
    spec = {
        "generators": [{"matrix": {"generators": [{"list": {"elements": [{"a": "0"}]}}, inner]}}]
    }
    assert await params_of(spec) == [{"a": "0", "b": "1", "c": "2"}, {"a": "0", "b": "1", "c": "3"}]


async def test_merge_overrides_by_key_and_drops_unmatched() -> None:
    spec = {
        "generators": [
            {
                "merge": {
                    "mergeKeys": ["name"],
                    "generators": [
                        {
                            "list": {
                                "elements": [{"name": "a", "v": "base"}, {"name": "b", "v": "base"}]
                            }
                        },
                        {
                            "list": {
                                "elements": [{"name": "b", "v": "over"}, {"name": "z", "v": "lost"}]
                            }
                        },
                    ],
                }
            }
        ]
    }
    assert await params_of(spec) == [{"name": "a", "v": "base"}, {"name": "b", "v": "over"}]


async def test_merge_refuses_duplicate_keys() -> None:
    spec = {
        "generators": [
            {
                "merge": {
                    "mergeKeys": ["name"],
                    "generators": [
                        {"list": {"elements": [{"name": "a"}, {"name": "a"}]}},
                        {"list": {"elements": []}},
                    ],
                }
            }
        ]
    }
    with pytest.raises(GeneratorError, match="not unique"):
        await params_of(spec)


async def test_selector_post_filters_flattened_params() -> None:
    spec = {
        "generators": [
            {
                "list": {"elements": [{"env": "prod"}, {"env": "dev"}]},
                "selector": {
                    "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}]
                },
            }
        ]
    }
    assert await params_of(spec) == [{"env": "prod"}]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({}, "no generator"),
        ({"lst": {}}, "unknown: lst"),
        ({"pullRequest": {}}, "pullRequest generator is not supported yet"),
        ({"scmProvider": {}}, "scmProvider generator is not supported yet"),
        ({"matrix": {"generators": [{"list": {}}]}}, "less than two"),
    ],
)
async def test_bad_generators_are_errors_never_zero_apps(entry: dict, message: str) -> None:
    with pytest.raises(GeneratorError, match=message):
        await params_of({"generators": [entry]})


@given(st.binary(max_size=300))
def test_a_parameter_file_parses_or_fails_as_a_generator_error(data: bytes) -> None:
    try:
        found = parse_parameter_file(data, "f")
    except GeneratorError:
        return
    assert isinstance(found, list)
    assert all(isinstance(obj, dict) for obj in found)


@given(st.text(alphabet="-:[]{}ab 1\n", max_size=80))
def test_elements_yaml_parses_or_fails_as_a_generator_error(text: str) -> None:
    try:
        found = parse_elements_yaml(text, "x")
    except GeneratorError:
        return
    assert all(isinstance(obj, dict) for obj in found)
