"""Inputs an attacker (or a careless user) can write: JSON values, YAML and URL-ish text.

Plain random text rarely hits a parser's corners, so most strategies here
join *fragments* of the syntax in question (YAML tags and indicators, URL
delimiters, semver operators, jq tokens) with random characters, and a few
repeat one fragment thousands of times to make the inputs that used to take
quadratic or exponential time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)

#: Any JSON value (what a YAML manifest or webhook body may hold once parsed).
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
json_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=6)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly ``strategy``, now and then any JSON value at all (often the wrong type).

    Mostly, so that objects with many fields still parse often enough for the
    code after the parser to be exercised too.
    """
    return st.sampled_from([True] * 11 + [False]).flatmap(
        lambda right: strategy if right else json_values
    )


def joined(fragments: list[str], max_size: int = 30) -> st.SearchStrategy[str]:
    """Text made of syntax fragments and random characters."""
    piece = st.one_of(st.sampled_from(fragments), st.text(max_size=3))
    return st.lists(piece, max_size=max_size).map("".join)


def repeated(fragments: list[str], max_count: int = 5000) -> st.SearchStrategy[str]:
    """One fragment many times, between a random prefix and suffix: long pathological text."""
    return st.builds(
        lambda pre, frag, n, post: pre + frag * n + post,
        st.text(max_size=4),
        st.sampled_from(fragments),
        st.integers(min_value=1, max_value=max_count),
        st.text(max_size=4),
    )


YAML_FRAGMENTS = [
    "apiVersion: v1\n",
    "kind: ConfigMap\n",
    "kind: List\nitems:\n",
    "metadata:\n",
    "metadata: []\n",
    "  name: a\n",
    "  name: 5\n",
    "  labels: {a: 1}\n",
    "data:\n  x: ",
    "---\n",
    "!!float ",
    "!!int ",
    "!!bool ",
    "!!binary ",
    "!!set ",
    "!!omap ",
    "!!python/object:os.system ",
    "!!timestamp ",
    "!!str ",
    "!foo ",
    "&a ",
    "*a",
    "<<: *a\n",
    "[",
    "]",
    "{",
    "}",
    ", ",
    ": ",
    "- ",
    "? ",
    "|\n  ",
    ">\n  ",
    '"',
    "'",
    "\\u0000",
    "#",
    "\n",
    "  ",
    "\t",
    ".inf",
    ".nan",
    "0x",
    "1e400",
    "9" * 40,
    "2001-12-14t21:59:43.10-05:00",
    "\ufeff",
    "%YAML 1.1\n",
]
yaml_texts = st.one_of(joined(YAML_FRAGMENTS, 40), repeated(["[", "- ", "a: ", "&a [*a, *a]"]))

URL_FRAGMENTS = [
    "http://",
    "https://",
    "ssh://",
    "file://",
    "git://",
    "git@",
    "user:tok3n@",
    "@",
    ":",
    "/",
    "[",
    "]",
    "::1",
    "%",
    "%2F",
    "?",
    "#",
    ".git",
    "github.com",
    "GitHub.COM",
    ":99999999",
    ":443",
    ":x",
    "..",
    "~",
    " ",
    "\u0130",
    "\uff03",
    "\u2100",
    "-",
    "--upload-pack=x",
]
url_texts = st.one_of(joined(URL_FRAGMENTS, 12), st.text(max_size=30))


def seconds(fn: Callable[[], Any]) -> float:
    """Wall time of one call (for bounds on pathological inputs)."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started
