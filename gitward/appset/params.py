"""Parameter sets as Argo CD builds them: plain dicts, Go's formatting, its merges.

A generator yields parameter sets (``dict[str, Any]``). With ``goTemplate`` they
are nested (``{"path": {"basename": "x"}}``) and go to Go's template engine as
JSON; without it (fasttemplate) they are flat string maps (``{"path.basename":
"x"}``). Where Argo CD turns a value into text it uses Go's ``%v``; so does
:func:`go_text`, so ``3`` is ``3`` (not ``3.0``), ``true`` is ``true`` and
``1234567`` is ``1.234567e+06``. Every function here is pure.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from gitward.model.errors import ConfigError

Params = dict[str, Any]

_INVALID_DNS = re.compile(r"[^-a-z0-9.]")


class ParamsError(ConfigError):
    """Parameter sets that cannot be combined (duplicate keys with different values...)."""


def sanitize_name(name: str) -> str:
    """Argo CD's ``normalize``: lower case, ``[^-a-z0-9.]`` to ``-``, 253 chars, trimmed."""
    name = _INVALID_DNS.sub("-", name.lower())[:253]
    return name.strip("-.")


def _go_float(value: float) -> str:
    """Go's ``%v`` of a float64: shortest digits, exponent below 1e-4 and from 1e6."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    # repr gives the shortest digits that round-trip, as Go's 'g' with precision -1 does.
    sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + exponent  # where the decimal point falls within the digits
    exp10 = point - 1
    minus = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:  # strconv: shortest %g switches at precision 6
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{minus}{body}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if point <= 0:
        return f"{minus}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{minus}{digits}{'0' * (point - len(digits))}"
    return f"{minus}{digits[:point]}.{digits[point:]}"


def go_text(value: Any) -> str:
    """``fmt.Sprintf("%v", value)`` for a value decoded from JSON or YAML by Go."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, int | float):
        return _go_float(float(value))  # Go decodes every JSON number to float64
    if isinstance(value, list):
        return "[" + " ".join(go_text(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = " ".join(f"{k}:{go_text(value[k])}" for k in sorted(value))
        return f"map[{inner}]"
    return str(value)


def flatten(nested: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """jeremywohl/flatten's dot style: ``{"a": {"b": [1]}}`` to ``{"a.b.0": 1}``."""
    flat: dict[str, Any] = {}

    def walk(value: Any, key: str, top: bool) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k if top else f"{key}.{k}", False)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, str(i) if top else f"{key}.{i}", False)
        else:
            flat[key] = value

    if prefix:
        walk(dict(nested), prefix, False)
    else:
        walk(dict(nested), "", True)
    return flat


def flat_strings(params: Mapping[str, Any]) -> dict[str, str]:
    """Argo CD's view of a param set for selectors: flattened, every value ``%v``."""
    return {k: go_text(v) for k, v in flatten(params).items()}


def _empty(value: Any) -> bool:
    """Go's zero value test as mergo applies it to JSON-shaped data."""
    return value is None or value is False or value in ("", 0) or value == {} or value == []


def deep_merge(dst: Params, src: Mapping[str, Any]) -> Params:
    """``mergo.Merge(&dst, src, mergo.WithOverride)``: src wins, maps merge, empties don't win."""
    out = dict(dst)
    for key, value in src.items():
        current = out.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            out[key] = deep_merge(current, value)
        elif key not in out or _empty(current) or not _empty(value):
            out[key] = value
    return out


def combine_strict(first: Mapping[str, Any], second: Mapping[str, Any]) -> Params:
    """Argo CD's ``CombineStringMaps``: a key both maps hold must have one value."""
    out = dict(first)
    for key, value in second.items():
        if key in out and out[key] != value:
            raise ParamsError(
                f"found duplicate key {key} with different value, a: {out[key]} ,b: {value}"
            )
        out[key] = value
    return out


def merge_key(params: Mapping[str, Any], keys: Iterable[str]) -> str:
    """The identity of a param set under ``mergeKeys``, as Argo CD spells it (JSON).

    A dotted key (``values.selector``) that is not a top-level key is looked up
    inside nested params too, so goTemplate sets merge on nested values (where
    Argo CD finds nothing and refuses every set as a duplicate).
    """
    found: dict[str, Any] = {}
    for key in sorted(set(keys)):
        if key in params:
            found[key] = params[key]
            continue
        node: Any = params
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        found[key] = node
    return json.dumps(found, sort_keys=True, separators=(",", ":"))


def fill_merge(dst: Mapping[str, Any], src: Mapping[str, Any]) -> Params:
    """``mergo.Merge(&dst, src)``: dst keeps what it sets, src fills what it leaves empty.

    How a generator's own ``template`` is completed from the ApplicationSet's.
    """
    out = dict(dst)
    for key, value in src.items():
        current = out.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            out[key] = fill_merge(current, value)
        elif key not in out or _empty(current):
            out[key] = value
    return out
