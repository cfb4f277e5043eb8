"""Go's text/template (with Sprig) and expr-lang, by Go itself: one run of ``gitward-gotemplate``.

Two users: ApplicationSet ``goTemplate`` trees (:meth:`GoTemplates.render`) and Argo CD
Notifications, whose templates are Go templates and whose trigger conditions are expr
expressions (:meth:`GoTemplates.evaluate`).

Argo CD renders ``goTemplate: true`` ApplicationSets with Go's text/template and
Sprig; any reimplementation would differ somewhere (``%v`` of a float, Sprig's
hundred functions, error texts). So gitward runs a small Go program of its own
(``tools/gotemplate/main.go``, built into the toolchain like kustomize and helm)
once per batch: every template tree with every parameter set goes in as JSON,
every rendered tree (or its error) comes out.

Templates are user input, and the program is run as hostile: an argv list, an
empty environment, a deadline, an address-space limit, and a Landlock jail that
grants no file beyond the binary itself and no network (the function map has no
``env``, ``expandenv`` or ``getHostByName`` either).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitward._util.redact import redact
from gitward.model.errors import ToolError
from gitward.render.jail import Jail

BINARY = "gitward-gotemplate"
#: Address space the renderer may use: room for Go's runtime and large params, not a runaway.
MEMORY_LIMIT = 1 << 30


class GoTemplateError(ToolError):
    """The renderer could not run, or broke its protocol (not a template's own error)."""


@dataclass(frozen=True)
class Job:
    """One template tree, rendered once per parameter set."""

    tree: Any
    params: Sequence[dict[str, Any]]
    options: Sequence[str] = ()


@dataclass(frozen=True)
class Rendered:
    """One rendering: ``value`` or, when the template failed, ``error``."""

    value: Any = None
    error: str = ""


def _first_lines(text: str) -> str:
    """What a failed run said, without the Go runtime's goroutine dump after a fatal error."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal error:", "panic:", "runtime:")):
            return line[:300]
    return " ".join(lines[:3])[:500]


@dataclass
class GoTemplates:
    """The renderer binary and how long one run may take; counts runs for metrics."""

    binary: Path | None
    timeout: float = 30.0
    runs: int = field(default=0, init=False)

    @classmethod
    def find(cls, toolchain_bin: Path | None = None) -> GoTemplates:
        """The binary from the local toolchain's ``bin/`` when given, else from ``PATH``."""
        if toolchain_bin is not None and (toolchain_bin / BINARY).is_file():
            return cls(toolchain_bin / BINARY)
        found = shutil.which(BINARY)
        return cls(Path(found) if found else None)

    def _argv(self) -> list[str]:
        if self.binary is None:
            raise GoTemplateError(
                f"{BINARY} is not built: run `make toolchain` (it renders goTemplate "
                "ApplicationSets with Go's text/template and Sprig)"
            )
        if not os.access(self.binary, os.X_OK):
            raise GoTemplateError(f"{self.binary} is not an executable file")
        # The program sets its own memory limit: a preexec_fn in this threaded process could
        # deadlock the child between fork and exec, holding every pipe it inherited.
        return Jail(read=()).argv(self.binary, [f"--max-memory={MEMORY_LIMIT}"])

    async def _run(self, request: dict[str, Any]) -> Any:
        """One run of the program with ``request``; its decoded answer."""
        body = json.dumps(request, separators=(",", ":")).encode()
        self.runs += 1
        proc = await asyncio.create_subprocess_exec(
            *self._argv(),
            env={},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(body), self.timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise GoTemplateError(
                f"template rendering took longer than {self.timeout:.0f} s and was stopped"
            ) from None
        except asyncio.CancelledError:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise
        if proc.returncode != 0:
            message = redact(_first_lines(stderr.decode(errors="replace")))
            raise GoTemplateError(
                f"template renderer failed (exit {proc.returncode}): {message or 'no output'}"
            )
        try:
            return json.loads(stdout)
        except ValueError as exc:
            raise GoTemplateError(f"template renderer answered malformed JSON: {exc}") from None

    async def evaluate(self, exprs: Sequence[tuple[str, dict[str, Any]]]) -> list[Rendered]:
        """expr-lang results of each ``(expression, env)``; an expression's error is data."""
        if not exprs:
            return []
        answer = await self._run(
            {"jobs": [], "exprs": [{"expr": e, "env": env} for e, env in exprs]}
        )
        try:
            results = [Rendered(r.get("value"), str(r.get("error") or "")) for r in answer["exprs"]]
        except (KeyError, TypeError, AttributeError) as exc:
            raise GoTemplateError(f"template renderer answered malformed JSON: {exc}") from None
        if len(results) != len(exprs):
            raise GoTemplateError("template renderer answered the wrong number of results")
        return results

    async def render(self, jobs: Sequence[Job]) -> list[list[Rendered]]:
        """Every job's renderings, in order; template errors are data, not exceptions."""
        if not jobs or all(not job.params for job in jobs):
            return [[] for _ in jobs]
        request = {
            "jobs": [
                {"tree": job.tree, "params": list(job.params), "options": list(job.options)}
                for job in jobs
            ]
        }
        answer = await self._run(request)
        try:
            results = [
                [Rendered(r.get("value"), str(r.get("error") or "")) for r in job["results"]]
                for job in answer["jobs"]
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise GoTemplateError(f"goTemplate renderer answered malformed JSON: {exc}") from None
        if len(results) != len(jobs) or any(
            len(r) != len(j.params) for r, j in zip(results, jobs, strict=True)
        ):
            raise GoTemplateError("goTemplate renderer answered the wrong number of results")
        return results
