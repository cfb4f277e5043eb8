"""The write audit that counts "applied twice" and "pruned wrongly" (no cluster needed).

The chaos suite's verdicts rest on these functions, so they get their own tests: a no-op
server-side apply (same resourceVersion) is never a second application, a repeated
effective write of the same content always is, and only successful deletions count.
"""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from tests.support.chaos.proxy import Write, applied_twice, data_digest, deletions


def write(rv: str, digest: str, method: str = "PATCH", status: int = 200) -> Write:
    return Write(0.0, method, "ns", "cm", status, rv, digest)


def test_a_noop_apply_keeps_the_resource_version_and_is_not_counted() -> None:
    writes = [write("1", "a"), write("1", "a"), write("1", "a")]
    assert applied_twice(writes) == []


def test_a_second_effective_write_of_the_same_content_is_counted() -> None:
    assert applied_twice([write("1", "a"), write("2", "a")]) == [("ns", "cm")]


def test_changed_content_and_failed_writes_are_not_counted() -> None:
    writes = [write("1", "a"), write("", "a", status=409), write("2", "b"), write("3", "c")]
    assert applied_twice(writes) == []


def test_only_successful_deletions_count() -> None:
    gone = write("", "x", method="DELETE", status=200)
    refused = write("", "x", method="DELETE", status=404)
    assert deletions([gone, refused, write("1", "a")]) == [gone]


def test_the_digest_reads_only_data() -> None:
    a = {"metadata": {"name": "x", "annotations": {"t": "1"}}, "data": {"k": "v"}}
    b = {"metadata": {"name": "x"}, "data": {"k": "v"}}
    assert data_digest(a) == data_digest(b) != data_digest({"data": {"k": "w"}})
    assert data_digest("not an object") == data_digest({})


@given(st.lists(st.tuples(st.integers(1, 5), st.sampled_from("abc")), max_size=30))
def test_counted_exactly_when_two_successive_new_versions_carry_the_same_content(
    steps: list[tuple[int, str]],
) -> None:
    writes = [write(str(rv), digest) for rv, digest in steps]
    effective: list[tuple[int, str]] = []
    for rv, digest in steps:
        if not effective or effective[-1][0] != rv:
            effective.append((rv, digest))
    expected = any(a[1] == b[1] for a, b in itertools.pairwise(effective))
    assert bool(applied_twice(writes)) == expected
