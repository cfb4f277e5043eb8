"""Argo CD's build environment: the ``ARGOCD_APP_*`` variables and their ``$VAR`` expansion.

Argo CD gives every kustomize and helm run the application's name, revision,
source path and so on as environment variables, and expands ``$VAR`` /
``${VAR}`` references to them in Helm parameters, value-file paths, Kustomize
images and labels. Charts and kustomizations written for Argo CD rely on both,
so gitward reproduces them exactly, including the expansion's quirks (it is
Go's ``os.Expand``: an unknown variable becomes the empty string and ``$$`` is
a literal ``$``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class RenderEnv:
    """What Argo CD tells a render about the Application it renders for.

    ``app_namespace`` is the *destination* namespace, as in Argo CD's
    ``ARGOCD_APP_NAMESPACE``; it is also Helm's ``--namespace`` unless the source
    sets ``helm.namespace``. ``revision`` is the resolved commit SHA.
    """

    app_name: str
    app_namespace: str
    revision: str
    repo_url: str
    source_path: str
    target_revision: str = ""
    kube_version: str | None = None
    api_versions: tuple[str, ...] = ()

    def build_vars(self) -> dict[str, str]:
        """The ``ARGOCD_APP_*`` variables, which ``$VAR`` references in the spec may use."""
        return {
            "ARGOCD_APP_NAME": self.app_name,
            "ARGOCD_APP_NAMESPACE": self.app_namespace,
            "ARGOCD_APP_REVISION": self.revision,
            "ARGOCD_APP_REVISION_SHORT": self.revision[:7],
            "ARGOCD_APP_REVISION_SHORT_8": self.revision[:8],
            "ARGOCD_APP_SOURCE_PATH": self.source_path,
            "ARGOCD_APP_SOURCE_REPO_URL": strip_userinfo(self.repo_url),
            "ARGOCD_APP_SOURCE_TARGET_REVISION": self.target_revision,
        }

    def process_env(self, home: str) -> dict[str, str]:
        """The whole environment of a tool run: nothing inherited but ``PATH`` and ``TMPDIR``.

        Starting from an empty environment keeps the caller's secrets (tokens in
        the environment) away from the tools, and ``home`` (a fresh temporary
        directory) keeps helm from reading the user's repositories and plugins.
        """
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home}
        if "TMPDIR" in os.environ:
            env["TMPDIR"] = os.environ["TMPDIR"]
        env.update(
            {
                "HELM_CONFIG_HOME": os.path.join(home, ".config", "helm"),
                "HELM_CACHE_HOME": os.path.join(home, ".cache", "helm"),
                "HELM_DATA_HOME": os.path.join(home, ".local", "share", "helm"),
                "XDG_CONFIG_HOME": os.path.join(home, ".config"),
                "XDG_CACHE_HOME": os.path.join(home, ".cache"),
                "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
            }
        )
        env.update(self.build_vars())
        env["KUBE_VERSION"] = self.kube_version or ""
        env["KUBE_API_VERSIONS"] = ",".join(self.api_versions)
        return env

    def app_short_name(self) -> str:
        """The name without a ``namespace_`` prefix (apps in any namespace), Helm's release name."""
        parts = self.app_name.split("_")
        return parts[1] if len(parts) == 2 and parts[1] else self.app_name


def strip_userinfo(url: str) -> str:
    """The URL without ``user:password@``: a credential must never reach a tool or a message."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


_SPECIAL = set("*#$@!?-0123456789")
_NAME = re.compile(r"[A-Za-z0-9_]*")


def envsubst(text: str, variables: Mapping[str, str]) -> str:
    """Expand ``$NAME`` and ``${NAME}`` the way Go's ``os.Expand`` does in Argo CD.

    Unknown names expand to ``""``; ``$$`` gives ``$``; a ``$`` not followed by a
    name is kept; malformed ``${`` is dropped.
    """
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        name, width = _shell_name(text, i + 1)
        if name:
            out.append("$" if name == "$" else variables.get(name, ""))
        elif width == 0:
            out.append("$")
        i += 1 + width
    return "".join(out)


def _shell_name(text: str, start: int) -> tuple[str, int]:
    """Go's ``getShellName``: the variable name after a ``$`` and how many characters it spans."""
    first = text[start]
    if first == "{":
        if len(text) - start > 2 and text[start + 1] in _SPECIAL and text[start + 2] == "}":
            return text[start + 1], 3
        close = text.find("}", start + 1)
        if close == -1:
            return "", 1
        if close == start + 1:
            return "", 2
        return text[start + 1 : close], close - start + 1
    if first in _SPECIAL:
        return first, 1
    match = _NAME.match(text, start)
    name = match.group(0) if match else ""
    return name, len(name)
