"""Query parameters of the applications API, parsed strictly.

Every value here comes from whoever sent the request: each parser bounds its
input and answers :class:`~gitward.server.errors.InvalidArgument` naming the
parameter, never another exception.

* ``selector`` is a Kubernetes label selector (``a=b,c!=d,e in (f,g),!h``).
* ``limit`` and ``continue`` page a list the way Kubernetes does (Argo CD has no
  pagination): the token names the last (name, namespace) a page returned, so the
  next page starts after it, whatever was added or removed meanwhile.
* ``name``, ``projects``/``project``, ``repo``, ``appNamespace`` filter as Argo CD does.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from multidict import MultiMapping

from gitward.server.errors import InvalidArgument

Obj = dict[str, Any]

MAX_SELECTOR = 4096
MAX_TOKEN = 4096
MAX_LIMIT = 10_000
MAX_VALUES = 256

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?" + _NAME)
_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_SET = re.compile(r"^\s*(\S+?)\s+(in|notin)\s*\(([^()]*)\)\s*$")


@dataclasses.dataclass(frozen=True)
class Requirement:
    key: str
    #: "=", "!=", "in", "notin", "exists", "!"
    op: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values  # != and notin


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise InvalidArgument("selector: unbalanced parenthesis")
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth != 0:
        raise InvalidArgument("selector: unbalanced parenthesis")
    parts.append("".join(current))
    return parts


def _key(text: str) -> str:
    key = text.strip()
    if not _KEY.fullmatch(key):
        raise InvalidArgument(f"selector: invalid label key {key[:64]!r}")
    return key


def _value(text: str) -> str:
    value = text.strip()
    if not _VALUE.fullmatch(value):
        raise InvalidArgument(f"selector: invalid label value {value[:64]!r}")
    return value


def parse_selector(text: str) -> tuple[Requirement, ...]:
    """A label selector's requirements (all must hold); empty text selects everything."""
    if len(text) > MAX_SELECTOR:
        raise InvalidArgument(f"selector: longer than {MAX_SELECTOR} characters")
    if not text.strip():
        return ()
    found: list[Requirement] = []
    for part in _split_top(text):
        if not part.strip():
            raise InvalidArgument("selector: empty requirement")
        match = _SET.match(part)
        if match:
            values = frozenset(_value(v) for v in match.group(3).split(","))
            found.append(Requirement(_key(match.group(1)), match.group(2), values))
            continue
        for op in ("!=", "==", "="):
            if op in part:
                key, _, value = part.partition(op)
                found.append(
                    Requirement(_key(key), "!=" if op == "!=" else "=", frozenset([_value(value)]))
                )
                break
        else:
            stripped = part.strip()
            if stripped.startswith("!"):
                found.append(Requirement(_key(stripped[1:]), "!"))
            else:
                found.append(Requirement(_key(stripped), "exists"))
    return tuple(found)


def selector_matches(requirements: Sequence[Requirement], labels: Mapping[str, str]) -> bool:
    return all(r.matches(labels) for r in requirements)


# -- scalars --------------------------------------------------------------------------------------


def flag(query: MultiMapping[str], name: str, default: bool = False) -> bool:
    """A boolean parameter: true/false/1/0 (absent or empty: ``default``)."""
    raw = query.get(name, "")
    if raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise InvalidArgument(f"{name}: expected true or false")


def limit(query: MultiMapping[str]) -> int | None:
    raw = query.get("limit", "")
    if raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise InvalidArgument(f"limit: expected a whole number from 1 to {MAX_LIMIT}")
    value = int(raw)
    if value == 0:
        return None  # Kubernetes: 0 means no limit
    if value > MAX_LIMIT:
        raise InvalidArgument(f"limit: at most {MAX_LIMIT}")
    return value


def encode_continue(key: tuple[str, str]) -> str:
    raw = json.dumps({"v": 1, "k": list(key)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[str, str] | None:
    """The key a page ended at; None for an empty token."""
    if not token:
        return None
    bad = InvalidArgument("continue: not a token this server issued")
    if len(token) > MAX_TOKEN:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, dict) or data.get("v") != 1:
        raise bad
    key = data.get("k")
    if not (isinstance(key, list) and len(key) == 2 and all(isinstance(k, str) for k in key)):
        raise bad
    return key[0], key[1]


def values(query: MultiMapping[str], *names: str) -> tuple[str, ...]:
    """Every value of repeated parameters ``names`` (comma-separated values split too)."""
    found: list[str] = []
    for name in names:
        for raw in query.getall(name, []):
            found.extend(v.strip() for v in raw.split(",") if v.strip())
    if len(found) > MAX_VALUES:
        raise InvalidArgument(f"{names[0]}: more than {MAX_VALUES} values")
    return tuple(found)


# -- the filter of list and stream ---------------------------------------------------------------


def _normal_repo(url: str) -> str:
    return url.strip().lower().removesuffix("/").removesuffix(".git")


@dataclasses.dataclass(frozen=True)
class AppFilter:
    """Which Applications a list or stream shows (every given criterion must hold)."""

    names: frozenset[str] = frozenset()
    projects: frozenset[str] = frozenset()
    selector: tuple[Requirement, ...] = ()
    repo: str = ""
    namespace: str = ""

    @classmethod
    def from_query(cls, query: MultiMapping[str]) -> AppFilter:
        return cls(
            names=frozenset(values(query, "name")),
            projects=frozenset(values(query, "projects", "project")),
            selector=parse_selector(query.get("selector", "")),
            repo=_normal_repo(query.get("repo", "")),
            namespace=query.get("appNamespace", "").strip(),
        )

    def matches(self, obj: Obj) -> bool:
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        if self.names and meta.get("name") not in self.names:
            return False
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        if self.projects and (spec.get("project") or "default") not in self.projects:
            return False
        if self.selector:
            labels = meta.get("labels") or {}
            if not isinstance(labels, dict) or not selector_matches(self.selector, labels):
                return False
        if self.repo:
            sources = [spec.get("source") or {}, *(spec.get("sources") or [])]
            urls = {_normal_repo(str(s.get("repoURL", ""))) for s in sources if isinstance(s, dict)}
            if self.repo not in urls:
                return False
        return True
