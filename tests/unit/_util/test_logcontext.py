"""Bound log fields follow the asyncio task that bound them, and nothing else."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from gitward._util.logcontext import ContextFilter, bind, current, log_context


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(ContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def collected() -> Iterator[logging.Logger]:
    logger = logging.getLogger("test.logcontext")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = Collect()
    logger.addHandler(handler)
    yield logger
    logger.removeHandler(handler)


def records(logger: logging.Logger) -> list[logging.LogRecord]:
    handler = logger.handlers[0]
    assert isinstance(handler, Collect)
    return handler.records


async def test_concurrent_tasks_keep_their_own_fields(collected: logging.Logger) -> None:
    # Each task waits for the other to have bound its fields before logging, so the
    # two bindings are live at the same time.
    bound = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def reconcile(app: str, other: str, revision: str) -> None:
        with log_context(app=app, revision=revision):
            bound[app].set()
            await bound[other].wait()
            collected.info("reconciling")
            await asyncio.sleep(0)
            with log_context(operation=f"op-{app}"):
                collected.info("syncing")
            collected.info("done")

    with log_context(controller="main"):
        await asyncio.gather(reconcile("a", "b", "rev-a"), reconcile("b", "a", "rev-b"))
        collected.info("after")

    by_app: dict[str, list[dict[str, object]]] = {}
    for record in records(collected):
        context = record.context  # type: ignore[attr-defined]
        by_app.setdefault(str(context.get("app", "-")), []).append(context)
    for app in ("a", "b"):
        assert [c.get("operation") for c in by_app[app]] == [None, f"op-{app}", None]
        assert all(c["revision"] == f"rev-{app}" for c in by_app[app])
        assert all(c["controller"] == "main" for c in by_app[app])
    assert by_app["-"] == [{"controller": "main"}]
    assert current() == {}


async def test_fields_become_record_attributes(collected: logging.Logger) -> None:
    with bind(app="ns/name", revision="abc1234", name="clash"):
        collected.warning("x")
    (record,) = records(collected)
    assert record.app == "ns/name"  # type: ignore[attr-defined]
    assert record.revision == "abc1234"  # type: ignore[attr-defined]
    assert record.name == "test.logcontext"  # a field never overwrites the record's own
    context = record.context  # type: ignore[attr-defined]
    assert context == {"app": "ns/name", "revision": "abc1234", "name": "clash"}


def test_nesting_restores_and_none_unbinds() -> None:
    with log_context(app="a", revision="r1"):
        with log_context(revision=None, operation="op"):
            assert current() == {"app": "a", "operation": "op"}
        assert current() == {"app": "a", "revision": "r1"}
        with pytest.raises(RuntimeError), log_context(app="b"):
            raise RuntimeError("x")
        assert current() == {"app": "a", "revision": "r1"}
    assert current() == {}


async def test_a_task_cannot_change_its_parents_fields() -> None:
    async def child() -> None:
        with log_context(app="child"):
            await asyncio.sleep(0)

    with log_context(app="parent"):
        task = asyncio.create_task(child())
        await asyncio.sleep(0)
        assert current() == {"app": "parent"}
        await task
        assert current() == {"app": "parent"}
