"""Container image references, and the ``NAME[=NEWNAME][:TAG][@DIGEST]`` syntax of an image change.

A reference follows the distribution project's grammar: an optional registry
host (a first path component holding ``.`` or ``:``, or ``localhost``), path
components of lower-case letters, digits and separators, an optional ``:tag``
and an optional ``@algorithm:hex`` digest. A change uses ``kustomize edit set
image``'s syntax: ``nginx:1.27``, ``nginx=registry.local/nginx:1.27``,
``app@sha256:...``. Both are user input (CI passes them straight from a
pipeline variable), so they are parsed with linear-time patterns, bounded in
length, and refused with a message naming what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import re2

from gitward.model.errors import ConfigError

MAX_REFERENCE = 512

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_NAME = re2.compile(rf"^(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re2.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re2.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")


class ImageRefError(ConfigError):
    """An image reference or change that is not valid."""


@dataclass(frozen=True)
class ImageRef:
    """``name[:tag][@digest]`` split into its parts."""

    name: str
    tag: str = ""
    digest: str = ""

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _split(text: str, what: str) -> tuple[str, str, str]:
    if not text:
        raise ImageRefError(f"{what}: empty")
    if len(text) > MAX_REFERENCE:
        raise ImageRefError(f"{what}: longer than {MAX_REFERENCE} characters")
    rest, _, digest = text.partition("@")
    name, tag = rest, ""
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):
        name, tag = rest[:colon], rest[colon + 1 :]
        if not tag:
            raise ImageRefError(f"{what} {text!r}: empty tag after ':'")
    if "@" in text and not digest:
        raise ImageRefError(f"{what} {text!r}: empty digest after '@'")
    if tag and not _TAG.match(tag):
        raise ImageRefError(f"{what} {text!r}: {tag!r} is not a valid tag")
    if digest and not _DIGEST.match(digest):
        raise ImageRefError(f"{what} {text!r}: {digest!r} is not a digest (sha256:<hex>)")
    return name, tag, digest


def parse_image(text: str, what: str = "image") -> ImageRef:
    """An image reference such as ``ghcr.io/org/app:1.2.0`` or ``app@sha256:...``."""
    name, tag, digest = _split(text, what)
    if not _NAME.match(name):
        raise ImageRefError(f"{what} {text!r}: {name!r} is not a valid image name")
    return ImageRef(name, tag, digest)


def same_image(a: str, b: str) -> bool:
    """Whether two names denote one repository (``docker.io/library/nginx`` is ``nginx``)."""
    return _canonical(a) == _canonical(b)


def _canonical(name: str) -> str:
    first, _, rest = name.partition("/")
    if not rest:
        return f"docker.io/library/{name}"
    if "." in first or ":" in first or first == "localhost":
        if first in ("index.docker.io", "registry-1.docker.io"):
            first = "docker.io"
        if first == "docker.io" and "/" not in rest:
            rest = f"library/{rest}"
        return f"{first}/{rest}"
    return f"docker.io/{name}"


@dataclass(frozen=True)
class ImageChange:
    """One ``NAME[=NEWNAME][:TAG][@DIGEST]`` argument: which image, and what it becomes."""

    name: str
    new_name: str = ""
    tag: str = ""
    digest: str = ""

    @property
    def target_name(self) -> str:
        return self.new_name or self.name

    def apply(self, current: ImageRef) -> ImageRef:
        """``current`` after this change: a new tag drops an old digest and vice versa."""
        name = self.new_name or current.name
        if self.tag or self.digest:
            return ImageRef(name, self.tag, self.digest)
        return ImageRef(name, current.tag, current.digest)

    def __str__(self) -> str:
        text = self.name + (f"={self.new_name}" if self.new_name else "")
        return (
            text + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")
        )


def parse_change(text: str) -> ImageChange:
    """``nginx:1.27``, ``nginx=registry.local/nginx:1.27`` or ``app@sha256:...``."""
    what = "image change"
    if len(text) > 2 * MAX_REFERENCE:
        raise ImageRefError(f"{what}: longer than {2 * MAX_REFERENCE} characters")
    name, eq, right = text.partition("=")
    if eq:
        new = parse_image(right, what)
        old = name
        if not _NAME.match(old):
            raise ImageRefError(f"{what} {text!r}: {old!r} is not a valid image name")
        return ImageChange(old, new.name, new.tag, new.digest)
    ref = parse_image(text, what)
    if not ref.tag and not ref.digest:
        raise ImageRefError(
            f"{what} {text!r}: give a tag (NAME:TAG), a digest (NAME@sha256:...) "
            "or a new name (NAME=NEWNAME)"
        )
    return ImageChange(ref.name, "", ref.tag, ref.digest)
