"""Where the external programs live on this machine: the local toolchain when it is
built (``gitward localkube build``), else ``PATH``.

The one place that decides it, so the CLI, the controller and the API server
render with the same binaries.
"""

from __future__ import annotations

from gitward import localkube
from gitward.appset.gotemplate import GoTemplates
from gitward.render import RenderTools


def render_tools() -> RenderTools:
    """kustomize, helm and jsonnet from the local toolchain when it is built, else from PATH."""
    toolchain = localkube.find()
    if toolchain is not None:
        return RenderTools(
            kustomize=toolchain.binary("kustomize"),
            helm=toolchain.binary("helm"),
            jsonnet=toolchain.binary("jsonnet"),
        )
    return RenderTools.from_path()


def gotemplates() -> GoTemplates:
    """The goTemplate renderer from the local toolchain when it is built, else from PATH."""
    toolchain = localkube.find()
    return GoTemplates.find(toolchain.bin_dir if toolchain is not None else None)
