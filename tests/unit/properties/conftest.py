"""Hypothesis settings for the property suite: a profile per place it runs.

``dev`` (the default) explores new random examples on every run and keeps
failures in ``.hypothesis/``; ``ci`` (chosen when ``CI`` is set, as ``.ci/run``
runs) is derandomised so a green run stays green, and keeps no database.
``HYPOTHESIS_PROFILE=thorough`` runs ten times the examples when hunting bugs.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,  # time bounds are asserted where they matter, not per example
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("dev", max_examples=120, **_COMMON)
settings.register_profile("ci", max_examples=120, derandomize=True, database=None, **_COMMON)
settings.register_profile("thorough", max_examples=1500, **_COMMON)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)
