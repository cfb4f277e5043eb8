"""Pure comparison of desired and live objects: no I/O, no health, no sync.

:func:`compare` decides per resource whether the live object matches what Git
declares, ignoring server defaults and the fields ``ignoreDifferences`` names;
:func:`unified` shows the difference to a person.
"""

from gitward.diff.compare import ResourceDiff, compare, compare_exact, to_yaml
from gitward.diff.ignore import IgnoreRule, parse_rules, rules_for
from gitward.diff.normalize import normalize_desired, normalize_live, quantity
from gitward.diff.unified import unified

__all__ = [
    "IgnoreRule",
    "ResourceDiff",
    "compare",
    "compare_exact",
    "normalize_desired",
    "normalize_live",
    "parse_rules",
    "quantity",
    "rules_for",
    "to_yaml",
    "unified",
]
