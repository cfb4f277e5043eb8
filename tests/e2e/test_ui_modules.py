"""The page's own parsers and diff, run in chromium against properties.

The label selector: the applications list sends its label selector to the server
(``selector=``) and applies it again to apps arriving on the stream; if the page's
parser disagreed with the server's, an app would vanish from or linger in the list.
Hypothesis writes selectors and label sets; every selector the server accepts must
select the same label sets in the page (``js/appindex.js``) as on the server
(:mod:`gitward.server.api.query`).

The line diff (``js/diff.js``): its edit script rebuilds both sides exactly, and a
5,000-line manifest with a few changes is shown as those changes and their context,
the rest folded.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import Page, sync_playwright

from gitward.localkube.process import free_ports
from gitward.server import ui
from gitward.server.api.query import parse_selector, selector_matches
from gitward.server.errors import InvalidArgument
from tests.e2e.conftest import chromium_path

KEYS = ["app", "tier", "example.com/team", "a_b"]
VALUES = ["", "web", "db", "v1.2"]
#: The page fixture is module-scoped: one browser serves every example.
FIXTURE = [HealthCheck.function_scoped_fixture]


@pytest.fixture(scope="module")
def static_ui() -> Iterator[str]:
    """The UI's files alone, on a loop of their own (these tests are synchronous)."""
    loop = asyncio.new_event_loop()
    port = free_ports(1)[0]
    app = web.Application()
    ui.add_routes(app)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.fixture(scope="module")
def page(static_ui: str) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        opened = browser.new_page()
        opened.goto(f"{static_ui}/login")  # the sign-in page: no API needed
        yield opened
        browser.close()


def js_verdicts(page: Page, selector: str, label_sets: list[dict[str, str]]) -> object:
    return page.evaluate(
        """async ([selector, sets]) => {
            const { parseSelector } = await import('/assets/js/appindex.js');
            let test;
            try { test = parseSelector(selector); } catch (err) { return 'refused'; }
            return sets.map((labels) => test(labels));
        }""",
        [selector, label_sets],
    )


def _requirement() -> st.SearchStrategy[str]:
    key = st.sampled_from(KEYS)
    value = st.sampled_from(VALUES)
    space = st.sampled_from(["", " "])
    values = st.lists(st.sampled_from(VALUES[1:]), min_size=1, max_size=3).map(", ".join)
    return st.one_of(
        st.tuples(key, space, st.sampled_from(["=", "==", "!="]), space, value).map("".join),
        st.tuples(key, st.sampled_from([" in ", " notin ", " in"]), values).map(
            lambda t: f"{t[0]}{t[1]}({t[2]})"
        ),
        key,
        key.map(lambda k: f"!{k}"),
    )


selectors = st.lists(_requirement(), min_size=1, max_size=4).map(",".join)
label_sets = st.lists(
    st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=4),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(selector=selectors, sets=label_sets)
def test_page_and_server_select_the_same_apps(
    page: Page, selector: str, sets: list[dict[str, str]]
) -> None:
    requirements = parse_selector(selector)  # every generated selector is a valid one
    expected = [selector_matches(requirements, labels) for labels in sets]
    assert js_verdicts(page, selector, sets) == expected, selector


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(alphabet="ab=!,() in", max_size=20), sets=label_sets)
def test_any_text_the_server_accepts_selects_the_same(
    page: Page, text: str, sets: list[dict[str, str]]
) -> None:
    try:
        requirements = parse_selector(text)
    except InvalidArgument:
        return  # the server refuses it, and the page shows the server's error
    expected = [selector_matches(requirements, labels) for labels in sets]
    assert js_verdicts(page, text, sets) == expected, text


def js_diff(page: Page, before: list[str], after: list[str]) -> dict[str, object]:
    found: dict[str, object] = page.evaluate(
        """async ([a, b]) => {
            const { diffLines } = await import('/assets/js/diff.js');
            const edits = diffLines(a, b);
            return {
                before: edits.filter((e) => e.op !== '+').map((e) => e.text),
                after: edits.filter((e) => e.op !== '-').map((e) => e.text),
                changes: edits.filter((e) => e.op !== ' ').length,
            };
        }""",
        [before, after],
    )
    return found


lines = st.lists(st.sampled_from(["a: 1", "b: 2", "c:", "  - x", "  - y", ""]), max_size=30)


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURE)
@given(before=lines, after=lines)
def test_the_diff_rebuilds_both_sides(page: Page, before: list[str], after: list[str]) -> None:
    found = js_diff(page, before, after)
    assert found["before"] == before
    assert found["after"] == after
    # Never more edits than replacing everything; none when nothing changed.
    assert found["changes"] <= len(before) + len(after)
    if before == after:
        assert found["changes"] == 0


def test_a_5000_line_manifest_diff_shows_only_its_changes(page: Page) -> None:
    before = [f"  key{i:04d}: value-{i}" for i in range(5000)]
    after = [f"{line} changed" if i % 500 == 0 else line for i, line in enumerate(before)]
    shown = page.evaluate(
        """async ([a, b]) => {
            const { diffView } = await import('/assets/js/diff.js');
            const t0 = performance.now();
            const { el, changes } = diffView(a.join('\\n'), b.join('\\n'), { mode: 'side' });
            document.body.append(el);
            const rows = el.querySelectorAll('tr').length;
            const folded = el.querySelectorAll('tr.fold').length;
            el.remove();
            return { ms: performance.now() - t0, changes, rows, folded };
        }""",
        [before, after],
    )
    assert shown["changes"] == 20  # ten lines, each removed and added
    # Changes at lines 0, 500, ..., 4500: ten hunks (a changed line, 3 lines of context
    # each side); the 9 stretches between them and the one after the last are folded.
    assert shown["folded"] == 10
    assert shown["rows"] <= 10 * 7 + 10
    print(f"5,000-line diff built and laid out in {shown['ms']:.0f} ms")
