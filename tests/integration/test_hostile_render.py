"""Hostile sources against the real helm and kustomize: refused with a clear error, and
legitimate look-alikes still rendered.

Each attack below worked before the fences existed: a spec field that became a helm flag,
a ``--set-file`` entry smuggled in through helm's comma syntax, kustomize bases that left
the checkout. The last tests take the path checks out of the way and show that the kernel
jail (Landlock) alone still keeps a tool inside its tree and off the network.
"""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest

from gitward.localkube import Toolchain
from gitward.model import parse_source
from gitward.model.errors import RenderError
from gitward.render import RenderEnv, RenderTools, render
from gitward.render.errors import PathError, ToolFailed
from gitward.render.jail import Jail, enforced
from gitward.render.tools import run_tool
from tests.support.trees import write_tree

SHA = "0123456789abcdef0123456789abcdef01234567"
ENV = RenderEnv(
    app_name="shop",
    app_namespace="shop",
    revision=SHA,
    repo_url="https://example.com/shop.git",
    source_path="chart",
)

CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
    "chart/values.yaml": "greeting: hello\n",
    "chart/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n"
        "  {{- with .Values.payload }}\n  payload: {{ . | quote }}\n  {{- end }}\n"
        "  {{- with .Values.leak }}\n  leak: {{ . | quote }}\n  {{- end }}\n"
    ),
    "chart/files/motd.txt": "one, two, three\n",
}

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata: {{k: v}}\n"


@pytest.fixture
def tools(toolchain: Toolchain) -> RenderTools:
    return RenderTools(kustomize=toolchain.binary("kustomize"), helm=toolchain.binary("helm"))


def helm_source(**helm: object) -> object:
    return parse_source({"repoURL": ENV.repo_url, "path": "chart", "helm": helm})


# -- helm -------------------------------------------------------------------------------------


async def test_a_release_name_that_is_a_flag_is_refused(tmp_path: Path, tools: RenderTools) -> None:
    write_tree(tmp_path, CHART)
    marker = tmp_path / "ran"
    source = helm_source(releaseName=f"--post-renderer=/bin/touch {marker}")
    with pytest.raises(RenderError, match=r"spec.source.helm.releaseName .* not a valid Helm"):
        await render(tmp_path, source, ENV, tools)  # type: ignore[arg-type]
    assert not marker.exists()


async def test_a_plain_release_name_still_renders(tmp_path: Path, tools: RenderTools) -> None:
    write_tree(tmp_path, CHART)
    [cm] = await render(tmp_path, helm_source(releaseName="my-app"), ENV, tools)  # type: ignore[arg-type]
    assert cm["metadata"]["name"] == "my-app"


async def test_a_file_parameter_cannot_smuggle_a_second_entry(
    tmp_path: Path, tools: RenderTools
) -> None:
    write_tree(tmp_path, CHART)
    source = helm_source(fileParameters=[{"name": "leak=/etc/passwd,x", "path": "files/motd.txt"}])
    with pytest.raises(RenderError, match=r"fileParameters\[0\].name .* not a Helm value name"):
        await render(tmp_path, source, ENV, tools)  # type: ignore[arg-type]


async def test_a_parameter_name_cannot_smuggle_a_second_entry(
    tmp_path: Path, tools: RenderTools
) -> None:
    write_tree(tmp_path, CHART)
    source = helm_source(parameters=[{"name": "greeting=x,leak", "value": "y"}])
    with pytest.raises(RenderError, match=r"parameters\[0\].name"):
        await render(tmp_path, source, ENV, tools)  # type: ignore[arg-type]


async def test_commas_in_values_and_file_contents_still_work(
    tmp_path: Path, tools: RenderTools
) -> None:
    write_tree(tmp_path, CHART)
    source = helm_source(
        parameters=[{"name": "greeting", "value": "hi, there,leak=1"}],
        fileParameters=[{"name": "payload", "path": "files/motd.txt"}],
    )
    [cm] = await render(tmp_path, source, ENV, tools)  # type: ignore[arg-type]
    assert cm["data"]["greeting"] == "hi, there,leak=1"
    assert cm["data"]["payload"] == "one, two, three\n"
    assert "leak" not in cm["data"]


async def test_inline_values_helm_cannot_read_are_named_by_their_field(
    tmp_path: Path, tools: RenderTools
) -> None:
    """helm reads inline values from a file gitward writes; its error names the field, not
    a temporary path."""
    write_tree(tmp_path, CHART)
    for values in ("a: !!float x\n", "b: !!binary '%%'\n"):
        source = helm_source(values=values)
        with pytest.raises(ToolFailed) as failed:
            await render(tmp_path, source, ENV, tools)  # type: ignore[arg-type]
        assert "failed to parse spec.source.helm.values:" in str(failed.value)
        assert "inline-values.yaml" not in str(failed.value)
    # the same values with the tags taken away render
    [cm] = await render(tmp_path, helm_source(values="greeting: x\n"), ENV, tools)  # type: ignore[arg-type]
    assert cm["data"]["greeting"] == "x"


async def test_a_value_file_outside_the_repository_is_refused(
    tmp_path: Path, tools: RenderTools
) -> None:
    write_tree(tmp_path / "repo", CHART)
    (tmp_path / "secret.yaml").write_text("leak: stolen\n")
    source = helm_source(valueFiles=["../../secret.yaml"])
    with pytest.raises(PathError, match=r"valueFiles\[0\] '../../secret.yaml' leads outside"):
        await render(tmp_path / "repo", source, ENV, tools)  # type: ignore[arg-type]


async def test_a_namespace_that_is_a_flag_stays_a_value(tmp_path: Path, tools: RenderTools) -> None:
    write_tree(tmp_path, CHART)
    source = helm_source(namespace="--post-renderer=sh")
    # glued to its flag, the value is a (bad) namespace, never a flag: helm itself renders
    # the templates with it as .Release.Namespace and runs nothing.
    objs = await render(tmp_path, source, ENV, tools)  # type: ignore[arg-type]
    assert objs[0]["kind"] == "ConfigMap"


# -- kustomize --------------------------------------------------------------------------------


def kustomize_source(path: str = "app", **kustomize: object) -> object:
    spec: dict[str, object] = {"repoURL": ENV.repo_url, "path": path}
    if kustomize:
        spec["kustomize"] = kustomize
    return parse_source(spec)


async def test_a_base_outside_the_repository_is_refused(tmp_path: Path, tools: RenderTools) -> None:
    write_tree(
        tmp_path,
        {
            "outside/kbase/kustomization.yaml": "resources: [cm.yaml]\n",
            "outside/kbase/cm.yaml": CONFIGMAP.format(name="stolen"),
            "repo/app/kustomization.yaml": "resources: [../../outside/kbase]\n",
        },
    )
    with pytest.raises(PathError, match=r"app/kustomization.yaml: resources entry .* outside"):
        await render(tmp_path / "repo", kustomize_source(), ENV, tools)  # type: ignore[arg-type]


async def test_a_base_of_a_base_outside_the_repository_is_refused(
    tmp_path: Path, tools: RenderTools
) -> None:
    write_tree(
        tmp_path,
        {
            "outside/kbase/kustomization.yaml": "resources: [cm.yaml]\n",
            "outside/kbase/cm.yaml": CONFIGMAP.format(name="stolen"),
            "repo/app/kustomization.yaml": "resources: [../base]\n",
            "repo/base/kustomization.yaml": "components: [../../outside/kbase]\n",
        },
    )
    with pytest.raises(PathError, match=r"base/kustomization.yaml: components entry"):
        await render(tmp_path / "repo", kustomize_source(), ENV, tools)  # type: ignore[arg-type]


async def test_a_symlink_to_a_directory_outside_is_refused(
    tmp_path: Path, tools: RenderTools
) -> None:
    write_tree(
        tmp_path,
        {
            "outside/kbase/kustomization.yaml": "resources: [cm.yaml]\n",
            "outside/kbase/cm.yaml": CONFIGMAP.format(name="stolen"),
            "repo/app/kustomization.yaml": "resources: [../vendored]\n",
        },
    )
    (tmp_path / "repo" / "vendored").symlink_to(tmp_path / "outside" / "kbase")
    with pytest.raises(PathError, match=r"resources entry '../vendored' leads outside"):
        await render(tmp_path / "repo", kustomize_source(), ENV, tools)  # type: ignore[arg-type]


async def test_generator_files_and_patches_outside_are_refused(
    tmp_path: Path, tools: RenderTools
) -> None:
    (tmp_path / "secret.env").write_text("TOKEN=stolen\n")
    write_tree(
        tmp_path / "repo",
        {"app/kustomization.yaml": "configMapGenerator:\n- name: x\n  envs: [../../secret.env]\n"},
    )
    with pytest.raises(PathError, match=r"configMapGenerator entry '../../secret.env'"):
        await render(tmp_path / "repo", kustomize_source(), ENV, tools)  # type: ignore[arg-type]
    write_tree(tmp_path / "repo", {"app/kustomization.yaml": "resources: []\n"})
    source = kustomize_source(patches=[{"path": "../../secret.env"}])
    with pytest.raises(PathError, match=r"spec.source.kustomize.patches entry"):
        await render(tmp_path / "repo", source, ENV, tools)  # type: ignore[arg-type]


async def test_a_kustomization_the_check_cannot_parse_is_refused(
    tmp_path: Path, tools: RenderTools
) -> None:
    write_tree(tmp_path, {"app/kustomization.yaml": "resources: !!float nope\n"})
    with pytest.raises(
        RenderError, match=r"app/kustomization.yaml:1: invalid YAML: .nope. is not a valid float"
    ):
        await render(tmp_path, kustomize_source(), ENV, tools)  # type: ignore[arg-type]


async def test_bases_that_stay_inside_the_repository_still_render(
    tmp_path: Path, tools: RenderTools
) -> None:
    write_tree(
        tmp_path,
        {
            "base/kustomization.yaml": "resources: [cm.yaml]\n",
            "base/cm.yaml": CONFIGMAP.format(name="web"),
            "envs/dev/app/kustomization.yaml": "resources: [../../../linked]\n",
        },
    )
    (tmp_path / "linked").symlink_to(tmp_path / "base")
    source = kustomize_source("envs/dev/app", images=["nginx=nginx:1.27"], namePrefix="x-")
    [cm] = await render(tmp_path, source, ENV, tools)  # type: ignore[arg-type]
    assert cm["metadata"]["name"] == "x-web"


async def test_edit_values_that_look_like_flags_stay_values(
    tmp_path: Path, tools: RenderTools
) -> None:
    write_tree(
        tmp_path,
        {
            "app/kustomization.yaml": "resources: [cm.yaml]\n",
            "app/cm.yaml": CONFIGMAP.format(name="a"),
        },
    )
    source = kustomize_source(commonLabels={"team": "--help"}, images=["--output=/tmp/x"])
    [cm] = await render(tmp_path, source, ENV, tools)  # type: ignore[arg-type]
    assert cm["metadata"]["labels"] == {"team": "--help"}
    bad = kustomize_source(commonAnnotations={"a:b": "c"})
    with pytest.raises(RenderError, match=r"commonAnnotations key 'a:b'"):
        await render(tmp_path, bad, ENV, tools)  # type: ignore[arg-type]


# -- the kernel jail, with the path checks out of the way ------------------------------------


def _require_jail() -> None:
    if not enforced():
        pytest.fail("Landlock is not available on this kernel: the kernel path jail is off")


async def test_the_jail_alone_keeps_kustomize_inside_its_tree(
    tmp_path: Path, tools: RenderTools
) -> None:
    _require_jail()
    write_tree(
        tmp_path,
        {
            "outside/kbase/kustomization.yaml": "resources: [cm.yaml]\n",
            "outside/kbase/cm.yaml": CONFIGMAP.format(name="stolen"),
            "repo/app/kustomization.yaml": "resources: [../../outside/kbase]\n",
        },
    )
    root, work = tmp_path / "repo", tmp_path / "work"
    work.mkdir()
    args = ["build", str(root / "app")]
    # Unjailed, kustomize happily reads the base outside the repository ...
    out = await run_tool(tools, "kustomize", args, env={"HOME": str(work)}, cwd=work)
    assert "stolen" in out
    # ... jailed to the repository, it cannot: the directory is not even visible to it.
    with pytest.raises(ToolFailed, match=r"unable to find one of 'kustomization.yaml'"):
        await run_tool(
            tools,
            "kustomize",
            args,
            env={"HOME": str(work)},
            cwd=work,
            jail=Jail(read=(root,), write=(work,)),
        )


async def test_the_jail_alone_keeps_helm_from_reading_other_files(
    tmp_path: Path, tools: RenderTools
) -> None:
    _require_jail()
    write_tree(tmp_path / "repo", CHART)
    (tmp_path / "private.yaml").write_text("leak: stolen\n")
    root, work = tmp_path / "repo", tmp_path / "work"
    work.mkdir()
    args = ["template", "x", str(root / "chart"), f"--values={tmp_path / 'private.yaml'}"]
    env = {"HOME": str(work)}
    assert "stolen" in await run_tool(tools, "helm", args, env=env, cwd=work)
    with pytest.raises(ToolFailed, match=r"permission denied"):
        await run_tool(
            tools, "helm", args, env=env, cwd=work, jail=Jail(read=(root,), write=(work,))
        )


async def test_the_jail_allows_no_tcp_connection(tmp_path: Path) -> None:
    _require_jail()
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    tool = tmp_path / "kustomize"
    tool.write_text(f"#!/bin/bash\nexec 3<>/dev/tcp/127.0.0.1/{port} && echo connected\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    tools = RenderTools(kustomize=tool, helm=None)
    try:
        out = await run_tool(tools, "kustomize", [], env={}, cwd=tmp_path)
        assert out.strip() == "connected"
        with pytest.raises(ToolFailed, match=r"ermission denied"):
            await run_tool(
                tools, "kustomize", [], env={}, cwd=tmp_path, jail=Jail(read=(tmp_path,))
            )
    finally:
        server.close()
