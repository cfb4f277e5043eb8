"""The kustomize, helm and jsonnet binaries, and the one way this layer runs them.

Every run is ``asyncio.create_subprocess_exec`` (argv lists, never a shell)
with a deadline: a tool that hangs is killed and reported, never waited on
forever. Runs share nothing (no working-directory changes, no locks), so any
number of renders can be in flight at once.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitward.model.errors import RenderError
from gitward.render.errors import ToolFailed, ToolMissing, ToolTimeout
from gitward.render.jail import Jail

#: Longest value gitward passes from a spec to a tool (a larger one is a mistake or an attack).
MAX_ARGUMENT = 64 * 1024


def option(name: str, value: str, what: str = "") -> str:
    """``--name=value``: a user's value glued to its flag, so it can never become a flag itself."""
    return f"--{name}={checked(value, what or name)}"


def operand(value: str, what: str) -> str:
    """A positional argument from a spec: refused when a leading ``-`` would make it a flag."""
    checked(value, what)
    if value.startswith("-"):
        raise RenderError(f"{what} {value!r} starts with '-', which the tool would read as a flag")
    return value


def checked(value: str, what: str) -> str:
    """``value`` unless it holds a NUL or control line break or is absurdly long."""
    if "\x00" in value:
        raise RenderError(f"{what}: contains a NUL character")
    if len(value) > MAX_ARGUMENT:
        raise RenderError(f"{what}: longer than {MAX_ARGUMENT} characters")
    return value


@dataclass(frozen=True)
class RenderTools:
    """Where kustomize, helm and jsonnet are, and how long one run of any may take."""

    kustomize: Path | None
    helm: Path | None
    timeout: float = 120.0
    jsonnet: Path | None = None
    _versions: dict[str, str] = field(default_factory=dict, init=False, compare=False, repr=False)

    @classmethod
    def from_path(cls) -> RenderTools:
        """The tools found on ``PATH`` (either may be None; rendering that needs it then fails)."""
        kustomize = shutil.which("kustomize")
        helm = shutil.which("helm")
        jsonnet = shutil.which("jsonnet")
        return cls(
            kustomize=Path(kustomize) if kustomize else None,
            helm=Path(helm) if helm else None,
            jsonnet=Path(jsonnet) if jsonnet else None,
        )

    def binary(self, tool: str) -> Path:
        """The path of ``tool`` ("kustomize", "helm" or "jsonnet"), or :class:`ToolMissing`."""
        path = {"kustomize": self.kustomize, "helm": self.helm, "jsonnet": self.jsonnet}.get(tool)
        if path is None:
            raise ToolMissing(tool)
        if not os.access(path, os.X_OK):
            raise ToolMissing(tool, f"{path} is not an executable file")
        return path

    async def versions(self) -> dict[str, str]:
        """``{"kustomize": "v5.x", "helm": "v3.x"}`` for the tools present; asked once per instance.

        Useful in cache keys: a different tool version may render differently.
        """
        if not self._versions:
            found: dict[str, str] = {}
            env = {"PATH": os.environ.get("PATH", ""), "HOME": tempfile.gettempdir()}
            if self.kustomize is not None:
                out = await run_tool(self, "kustomize", ["version"], env=env)
                found["kustomize"] = out.strip()
            if self.helm is not None:
                out = await run_tool(self, "helm", ["version", "--short"], env=env)
                found["helm"] = out.strip()
            if self.jsonnet is not None:
                out = await run_tool(self, "jsonnet", ["--version"], env=env)
                found["jsonnet"] = out.strip()
            self._versions.update(found)
        return dict(self._versions)


async def run_tool(
    tools: RenderTools,
    tool: str,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    context: str = "",
    display: str | None = None,
    jail: Jail | None = None,
    binary: Path | None = None,
    names: Mapping[str, str] | None = None,
) -> str:
    """Run ``tool args`` and return its stdout; raise with its stderr if it fails or times out.

    ``context`` (e.g. the source path) prefixes error messages so the user knows
    which Application source the failing command belonged to. ``display`` is how
    the command is named in errors; by default the tool and its first argument
    only, because later arguments (``--set password=...``) may hold secrets.
    ``jail`` confines the process to the paths it names (see :mod:`gitward.render.jail`);
    every run on behalf of a spec passes one. ``binary`` runs that program instead
    of ``tools``' own ``tool`` (a config management plugin's command); ``tool`` then
    only names it in errors. ``names`` maps files gitward wrote for the tool (inline
    values) to the spec field they hold: the tool's messages name the field, not a
    temporary path.
    """
    binary = binary or tools.binary(tool)
    command = display or " ".join([tool, *args[:1]])
    try:
        argv = jail.argv(binary, args) if jail is not None else [str(binary), *args]
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=str(cwd) if cwd else None,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:
        raise ToolMissing(tool, f"{binary} does not exist") from None
    except PermissionError:
        raise ToolMissing(tool, f"{binary} is not executable") from None
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=tools.timeout)
    except TimeoutError:
        proc.kill()
        _, stderr = await proc.communicate()
        raise ToolTimeout(command, tools.timeout, _named(stderr, names), context) from None
    except asyncio.CancelledError:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        raise ToolFailed(command, proc.returncode, _named(stderr, names), context)
    return stdout.decode(errors="replace")


def _named(stderr: bytes, names: Mapping[str, str] | None) -> str:
    text = stderr.decode(errors="replace")
    for path, name in (names or {}).items():
        text = text.replace(path, name)
    return text
