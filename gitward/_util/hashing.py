"""Stable content hashes used as cache keys."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def digest_of(parts: Iterable[bytes | str], length: int = 12) -> str:
    """Return a short hex SHA-256 over ``parts``, each length-prefixed.

    Length-prefixing keeps ``["ab", "c"]`` and ``["a", "bc"]`` apart, so the
    digest changes whenever any part does and never by accident of concatenation.
    """
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()[:length]
