"""The render layer's errors, all :class:`RenderError` so one ``except`` covers a failed render.

Each carries the facts a caller may want to show or act on (the file and line
of bad YAML, the command and stderr of a failed tool) as attributes, and a
message that already names them. Tool errors are also :class:`ToolError`, the
root for "an external program failed", so the CLI reports them the same way
as any other tool failure.
"""

from __future__ import annotations

from gitward.model.errors import RenderError, ToolError

#: Stderr beyond this many characters is cut (from the front: the end says what failed).
STDERR_LIMIT = 8000


class PathError(RenderError):
    """A path that is missing, is not what it should be, or leads outside the repository."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


class ManifestParseError(RenderError):
    """A manifest file or a tool's output is not valid YAML/JSON, or not a Kubernetes object."""

    def __init__(
        self, file: str, message: str, line: int | None = None, document: int | None = None
    ) -> None:
        where = file
        if line is not None:
            where += f":{line}"
        if document is not None:
            where += f": document {document}"
        super().__init__(f"{where}: {message}")
        self.file = file
        self.line = line
        self.document = document
        self.detail = message


class UnsupportedSource(RenderError):
    """The source asks for something gitward deliberately does not do (remote bases, plugins)."""


class RemoteBaseRefused(UnsupportedSource):
    """A kustomization refers to a remote base: rendering would fetch from the network."""

    def __init__(self, kustomization: str, field: str, entry: str) -> None:
        super().__init__(
            f"{kustomization}: {field} entry {entry!r} is a remote base; gitward renders "
            "from the checked-out tree only and never fetches during a render. Vendor the "
            "base into the repository (or a second Application source) and refer to it "
            "by a relative path"
        )
        self.kustomization = kustomization
        self.field = field
        self.entry = entry


class ToolMissing(RenderError, ToolError):
    """kustomize or helm is needed but not available."""

    def __init__(self, tool: str, detail: str = "") -> None:
        message = (
            f"{tool} is needed to render this source but "
            f"{detail or 'none was found (not on PATH, or not given to RenderTools)'}; "
            "run `make toolchain` to build it "
            "(it lands in ~/.cache/gitward/toolchain/<key>/bin), then put that directory "
            f"on PATH or pass its path in RenderTools({tool}=...)"
        )
        super().__init__(message)
        self.tool = tool


class ToolFailed(RenderError, ToolError):
    """kustomize or helm exited non-zero; ``stderr`` is what it said."""

    def __init__(
        self, command: str, returncode: int | None, stderr: str, context: str = ""
    ) -> None:
        stderr = stderr.strip()
        if len(stderr) > STDERR_LIMIT:
            stderr = "..." + stderr[-STDERR_LIMIT:]
        status = "timed out" if returncode is None else f"failed (exit {returncode})"
        prefix = f"{context}: " if context else ""
        super().__init__(f"{prefix}{command} {status}: {stderr or '(no output on stderr)'}")
        self.command = command
        self.returncode = returncode
        self.stderr = stderr


class ToolTimeout(ToolFailed):
    """kustomize or helm did not finish within ``RenderTools.timeout``; it was killed."""

    def __init__(self, command: str, timeout: float, stderr: str, context: str = "") -> None:
        super().__init__(
            command, None, f"no result after {timeout:g}s, killed. {stderr}".strip(), context
        )
        self.timeout = timeout
