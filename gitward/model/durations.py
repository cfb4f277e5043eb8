"""The one reader of durations: Go's ``time.ParseDuration`` form and a bare count of seconds.

Argo CD writes durations the way Go prints them (``5s``, ``1m30s``, ``250ms``,
``1.5h``) in retry backoffs, sync windows, ``argocd-cm`` timeouts and annotations,
and reads a bare number as seconds where Go code falls back to ``strconv.Atoi``.
Every field and flag of gitward that holds a duration goes through
:func:`parse_duration`, so ``2m`` means the same thing in a retry policy, a sync
window, ``timeout.reconciliation`` and ``--image-update-interval``.

Durations are never negative here (a negative backoff or window has no meaning),
and the text is bounded: a duration longer than :data:`MAX_TEXT` characters is
refused before the pattern runs. The error is a :class:`DurationError`, a
:class:`~gitward.model.errors.ConfigError` that names the field when the caller
gives it one (it is also a ``ValueError`` for callers that predate it).
"""

from __future__ import annotations

import re

from gitward.model.errors import ConfigError

#: Longest duration text accepted; ``1h2m3s4ms5us6ns`` is 15 characters.
MAX_TEXT = 64

_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # U+00B5 MICRO SIGN, as Go accepts
    "μs": 1e-6,  # U+03BC GREEK SMALL LETTER MU, as Go accepts
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DAY = 86400.0
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_UNIT = r"(?:ns|us|µs|μs|ms|s|m|h)"
_GO = re.compile(rf"(?:{_NUMBER}{_UNIT})+")
_PART = re.compile(rf"({_NUMBER})({_UNIT})")
_BARE = re.compile(_NUMBER)
_DAYS = re.compile(r"(\d+)d")
_HINT = "use e.g. 30s, 5m, 1h30m or a number of seconds"


class DurationError(ConfigError, ValueError):
    """Text that is not a duration; the message names the field it came from."""


def parse_duration(text: str, field: str = "", *, days: bool = False) -> float:
    """Seconds in ``text``: a Go duration (``1m30s``) or a bare number of seconds (``90``).

    ``field`` names where the text came from (``spec.syncPolicy.retry.backoff.duration``,
    ``--since``) and prefixes the error. ``days=True`` also accepts a whole number of
    days (``30d``), which Go has no unit for but reporting spans read naturally in.
    Surrounding whitespace is ignored (ConfigMap values often end in a newline).
    """
    if not isinstance(text, str):
        raise _error(field, f"expected a duration string, got {type(text).__name__}")
    stripped = text.strip()
    if len(stripped) > MAX_TEXT:
        raise _error(field, f"not a duration: longer than {MAX_TEXT} characters")
    if _BARE.fullmatch(stripped):
        return float(stripped)
    if days:
        match = _DAYS.fullmatch(stripped)
        if match:
            return int(match.group(1)) * _DAY
    if not _GO.fullmatch(stripped):
        more = " or a number of days (30d)" if days else ""
        raise _error(field, f"not a duration: {stripped!r} ({_HINT}{more})")
    return sum(float(num) * _UNIT_SECONDS[unit] for num, unit in _PART.findall(stripped))


def format_duration(seconds: float) -> str:
    """``seconds`` in Go's form (``1h30m0s`` style, whole seconds), for messages and patches.

    The inverse of :func:`parse_duration` for whole seconds: ``parse_duration(
    format_duration(n)) == n`` for every non-negative integer ``n``.
    """
    whole = int(seconds)
    if whole < 0:
        raise DurationError(f"not a duration: {seconds} is negative")
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def _error(field: str, message: str) -> DurationError:
    return DurationError(f"{field}: {message}" if field else message)
