"""Image edits in plain manifests, kustomizations, Helm values and the write-back file:
the one value changes, every other byte stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.images import ImageNotFound, Target, edit_source, parse_change
from gitward.images.yamledit import YamlEditError
from tests.support.trees import write_tree

DEPLOYMENT = """\
# The web tier.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # keep this name
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: "ghcr.io/org/web:1.0.0"   # same image as the app
      containers:
        - name: web
          image: ghcr.io/org/web:1.0.0
        - name: proxy
          image: envoyproxy/envoy:v1.30.0
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
"""


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    pairs = list(zip(before.splitlines(), after.splitlines(), strict=True))
    return [(a, b) for a, b in pairs if a != b]


def test_plain_manifests_change_only_the_image_values(tmp_path: Path) -> None:
    write_tree(tmp_path, {"dev/deploy.yaml": DEPLOYMENT, "dev/other.yaml": "kind: ConfigMap\n"})
    kind, edited = edit_source(tmp_path, Target("dev"), [parse_change("ghcr.io/org/web:1.1.0")])
    assert kind == "plain"
    assert [(e.old, e.new) for e in edited.edits] == [
        ("ghcr.io/org/web:1.0.0", "ghcr.io/org/web:1.1.0")
    ] * 2
    after = edited.texts["dev/deploy.yaml"]
    assert changed_lines(DEPLOYMENT, after) == [
        (
            '          image: "ghcr.io/org/web:1.0.0"   # same image as the app',
            '          image: "ghcr.io/org/web:1.1.0"   # same image as the app',
        ),
        ("          image: ghcr.io/org/web:1.0.0", "          image: ghcr.io/org/web:1.1.0"),
    ]
    assert (tmp_path / "dev/deploy.yaml").read_text() == DEPLOYMENT  # nothing written yet


def test_an_image_that_is_nowhere_is_an_error(tmp_path: Path) -> None:
    write_tree(tmp_path, {"dev/deploy.yaml": DEPLOYMENT})
    with pytest.raises(ImageNotFound, match=r"ghcr\.io/org/api: not found"):
        edit_source(tmp_path, Target("dev"), [parse_change("ghcr.io/org/api:2")])


def test_an_image_already_as_asked_is_no_change(tmp_path: Path) -> None:
    write_tree(tmp_path, {"dev/deploy.yaml": DEPLOYMENT})
    _, edited = edit_source(tmp_path, Target("dev"), [parse_change("envoyproxy/envoy:v1.30.0")])
    assert edited.edits == []
    assert edited.texts == {}


KUSTOMIZATION = """\
# overlay for dev
resources:
- ../../base
images:
- name: ghcr.io/org/web
  newTag: 1.0.0   # bumped by CI
"""


def test_kustomize_images_are_set_like_kustomize_edit(tmp_path: Path) -> None:
    write_tree(tmp_path, {"overlays/dev/kustomization.yaml": KUSTOMIZATION})
    changes = [
        parse_change("ghcr.io/org/web:1.2.0"),
        parse_change("redis=mirror.local/redis:7.2"),
    ]
    kind, edited = edit_source(tmp_path, Target("overlays/dev"), changes)
    assert kind == "kustomize"
    text = edited.texts["overlays/dev/kustomization.yaml"]
    assert text == (
        "# overlay for dev\n"
        "resources:\n"
        "- ../../base\n"
        "images:\n"
        "- name: ghcr.io/org/web\n"
        "  newTag: 1.2.0   # bumped by CI\n"
        "- name: redis\n"
        "  newName: mirror.local/redis\n"
        "  newTag: '7.2'\n"
    )
    assert [(e.old, e.new) for e in edited.edits] == [
        ("ghcr.io/org/web:1.0.0", "ghcr.io/org/web:1.2.0"),
        ("redis", "mirror.local/redis:7.2"),
    ]


VALUES = """\
replicaCount: 2
image:
  repository: ghcr.io/org/web
  tag: 1.9          # the app
  pullPolicy: IfNotPresent
worker:
  image:
    registry: ghcr.io
    repository: org/worker
    tag: "1.0"
sidecar:
  image: busybox:1.36
"""


def test_helm_values_keep_their_layout_and_tags_stay_strings(tmp_path: Path) -> None:
    write_tree(tmp_path, {"chart/Chart.yaml": "name: web\n", "chart/values.yaml": VALUES})
    changes = [
        parse_change("ghcr.io/org/web:1.10"),
        parse_change("ghcr.io/org/worker:2.0"),
        parse_change("busybox:1.37"),
    ]
    kind, edited = edit_source(tmp_path, Target("chart"), changes)
    assert kind == "helm"
    assert changed_lines(VALUES, edited.texts["chart/values.yaml"]) == [
        ("  tag: 1.9          # the app", '  tag: "1.10"          # the app'),
        ('    tag: "1.0"', '    tag: "2.0"'),
        ("  image: busybox:1.36", "  image: busybox:1.37"),
    ]


def test_helm_path_names_one_place(tmp_path: Path) -> None:
    write_tree(tmp_path, {"chart/Chart.yaml": "name: web\n", "chart/values.yaml": VALUES})
    _, edited = edit_source(
        tmp_path, Target("chart", helm_path="worker.image"), [parse_change("org/worker:3")]
    )
    assert '    tag: "3"' in edited.texts["chart/values.yaml"]
    with pytest.raises(ImageNotFound, match=r"no value at nothing\.here"):
        edit_source(tmp_path, Target("chart", helm_path="nothing.here"), [parse_change("x:1")])


def test_helm_image_name_and_tag_paths_name_the_two_values(tmp_path: Path) -> None:
    # Image Updater's <alias>.helm.image-name / .helm.image-tag: values not under "repository".
    values = "app:\n  img: ghcr.io/org/api   # the image\n  version: 1.9  # its tag\n"
    write_tree(tmp_path, {"chart/Chart.yaml": "name: api\n", "chart/values.yaml": values})
    target = Target("chart", helm_images=(("ghcr.io/org/api", "app.img", "app.version"),))
    _, edited = edit_source(tmp_path, target, [parse_change("ghcr.io/org/api:1.10")])
    assert changed_lines(values, edited.texts["chart/values.yaml"]) == [
        ("  version: 1.9  # its tag", '  version: "1.10"  # its tag')
    ]
    assert [(e.old, e.new) for e in edited.edits] == [
        ("ghcr.io/org/api:1.9", "ghcr.io/org/api:1.10")
    ]
    renamed = parse_change("ghcr.io/org/api=mirror.local/api:2")
    _, edited = edit_source(tmp_path, target, [renamed])
    assert changed_lines(values, edited.texts["chart/values.yaml"]) == [
        ("  img: ghcr.io/org/api   # the image", "  img: mirror.local/api   # the image"),
        ("  version: 1.9  # its tag", '  version: "2"  # its tag'),
    ]
    missing = Target("chart", helm_images=(("ghcr.io/org/api", "", "app.tag"),))
    with pytest.raises(ImageNotFound, match=r"no value at app\.tag"):
        edit_source(tmp_path, missing, [parse_change("ghcr.io/org/api:2")])
    whole = Target("chart", helm_images=(("ghcr.io/org/api", "", "app"),))
    with pytest.raises(ImageNotFound, match=r"app is not a single value"):
        edit_source(tmp_path, whole, [parse_change("ghcr.io/org/api:2")])


def test_an_unparseable_values_file_names_the_line(tmp_path: Path) -> None:
    write_tree(tmp_path, {"chart/Chart.yaml": "name: web\n", "chart/values.yaml": "a: [1,\n"})
    with pytest.raises(YamlEditError, match=r"chart/values.yaml:2"):
        edit_source(tmp_path, Target("chart"), [parse_change("x:1")])


def test_the_write_back_file_is_created_and_updated(tmp_path: Path) -> None:
    write_tree(tmp_path, {"overlays/dev/kustomization.yaml": KUSTOMIZATION})
    target = Target("overlays/dev", kind="write-back", app_name="shop-dev")
    _, first = edit_source(tmp_path, target, [parse_change("ghcr.io/org/web:2.0.0")])
    first.write(tmp_path)
    written = tmp_path / "overlays/dev/.argocd-source-shop-dev.yaml"
    assert written.read_text() == "kustomize:\n  images:\n  - ghcr.io/org/web:2.0.0\n"
    _, second = edit_source(tmp_path, target, [parse_change("ghcr.io/org/web:2.1.0")])
    assert second.texts[str(written.relative_to(tmp_path))] == (
        "kustomize:\n  images:\n  - ghcr.io/org/web:2.1.0\n"
    )


def test_paths_outside_the_repository_are_refused(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    with pytest.raises(Exception, match="outside the repository"):
        edit_source(tmp_path / "repo", Target("../"), [parse_change("x:1")])
