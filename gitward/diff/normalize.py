"""Strip what the server owns, so desired and live compare on what Git declares.

Live objects carry bookkeeping (resourceVersion, uid, managedFields, status,
timestamps, annotations other tools write) that no manifest ever contains;
desired objects carry rendering leftovers (``creationTimestamp: null`` from
helm, empty maps). Both sides are copied, never modified in place.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, DecimalException
from typing import Any

from gitward._util.jsoncopy import json_copy

Obj = dict[str, Any]

_SERVER_METADATA = (
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)

#: Where client-side apply (kubectl's, and gitward's with ServerSideApply=false) keeps
#: the configuration it last applied.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

#: Annotations written by the API server or controllers, never by Git.
_SERVER_ANNOTATIONS = (
    LAST_APPLIED,
    "deployment.kubernetes.io/revision",
)


def _clean_metadata(meta: Obj) -> None:
    for key in _SERVER_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        for key in _SERVER_ANNOTATIONS:
            annotations.pop(key, None)
    for key in ("annotations", "labels"):
        if not meta.get(key):
            meta.pop(key, None)


def normalize_live(live: Obj) -> Obj:
    """A copy of ``live`` without status and server bookkeeping."""
    # Leave out status and managedFields before copying: often most of the object.
    out = {k: v for k, v in live.items() if k != "status"}
    meta = {k: v for k, v in (live.get("metadata") or {}).items() if k != "managedFields"}
    out["metadata"] = meta
    out = json_copy(out)
    _clean_metadata(out["metadata"])
    return out


def normalize_desired(desired: Obj) -> Obj:
    """A copy of ``desired`` without status and rendering leftovers."""
    out = json_copy({k: v for k, v in desired.items() if k != "status"})
    meta = out.get("metadata")
    if not isinstance(meta, dict):  # `metadata: null` (the parsers refuse other types)
        meta = out["metadata"] = {}
    if meta.get("creationTimestamp") is None:
        meta.pop("creationTimestamp", None)
    _clean_metadata(meta)
    return out


_QUANTITY = re.compile(
    r"^([+-]?[0-9.]{1,64})(?:[eE]([+-]?[0-9]{1,4})|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$"
)
_SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}


def quantity(value: Any) -> Decimal | None:
    """The numeric value of a Kubernetes quantity (``500m``, ``1Gi``, ``2``, ``1e3``), else None.

    ``E`` alone is the exa suffix (``1E`` = 10^18), as in Kubernetes; an exponent
    needs digits (``1e3``). Lengths and exponents are bounded, so a value like
    ``6e7444370`` is not a quantity rather than a computation without end.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, int) and value.bit_length() > 256:
            return None
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if not match:
        return None
    number, exponent, suffix = match.group(1), match.group(2), match.group(3) or ""
    try:
        base = Decimal(number)
        if exponent is not None:
            return base.scaleb(int(exponent))
        return base * _SUFFIX[suffix]
    except DecimalException:
        return None


def scalars_equal(desired: Any, live: Any, quantities: bool = False) -> bool:
    """Equal as the API server would store them.

    ``80`` and ``"80"`` are the same int-or-string port. With ``quantities``
    (the caller knows the field is a resource quantity) ``"1000m"`` and ``"1"``
    are the same CPU too: the server canonicalises both, and a diff must not
    call them different. Elsewhere ``"1.0"`` and ``"1"`` stay different.
    """
    if desired == live:
        return True
    if isinstance(desired, bool) or isinstance(live, bool):
        return False
    if isinstance(desired, str | int | float) and isinstance(live, str | int | float):
        if str(desired) == str(live):
            return True
        if not quantities:
            return False
        a, b = quantity(desired), quantity(live)
        return a is not None and b is not None and a == b
    return False
