"""Controller logs: JSON lines that parse, carry the bound ids, and never carry credentials."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from gitward._util.logcontext import log_context
from gitward.cli.logsetup import configure, redact
from gitward.model.errors import ConfigError

log = logging.getLogger("gitward.test.logsetup")


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """A fresh stream; the root logger's level and handlers are restored afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield io.StringIO()
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_line_has_time_level_logger_msg_and_bound_fields(output: io.StringIO) -> None:
    configure("info", "json", output)
    with log_context(app="argocd/guestbook", revision="abc1234", operation="sync-1"):
        log.info("synced %d resources", 3)
    log.debug("below the level")
    (entry,) = lines(output)
    assert entry["level"] == "info"
    assert entry["logger"] == "gitward.test.logsetup"
    assert entry["msg"] == "synced 3 resources"
    assert entry["app"] == "argocd/guestbook"
    assert entry["revision"] == "abc1234"
    assert entry["operation"] == "sync-1"
    assert "error" not in entry
    stamp = str(entry["time"])
    assert stamp.endswith("Z")
    assert len(stamp) == len("2026-11-26T10:00:00.123Z")
    assert stamp[10] == "T"
    assert stamp[19] == "."


def test_json_includes_the_exception(output: io.StringIO) -> None:
    configure("debug", "json", output)
    try:
        raise KeyError("missing")
    except KeyError:
        log.exception("reconcile failed")
    (entry,) = lines(output)
    assert entry["level"] == "error"
    assert entry["msg"] == "reconcile failed"
    error = str(entry["error"])
    assert error.startswith("Traceback (most recent call last):")
    assert "KeyError: 'missing'" in error


def test_password_in_url_and_bearer_token_are_redacted(output: io.StringIO) -> None:
    configure("info", "json", output)
    with log_context(app="a", url="https://bot:hunter2@git.example.com/org/repo.git"):
        log.info(
            "fetch https://alice:s3cr3t-pw@git.example.com/org/repo.git with %s",
            {"Authorization": "Bearer ghp_abcdefghijklmnop0123"},
        )
        try:
            raise RuntimeError("git said: Authorization: Bearer tok_ABCDEFG123 password=p4ss")
        except RuntimeError:
            log.exception("failed")
    text = output.getvalue()
    for secret in ("hunter2", "s3cr3t-pw", "ghp_abcdefghijklmnop0123", "tok_ABCDEFG123", "p4ss"):
        assert secret not in text
    first, second = lines(output)
    assert first["msg"] == (
        "fetch https://***@git.example.com/org/repo.git with {'Authorization': 'Bearer ***'}"
    )
    assert first["url"] == "https://***@git.example.com/org/repo.git"
    assert "Authorization: Bearer *** password=***" in str(second["error"])


def test_text_format_appends_bound_fields(output: io.StringIO) -> None:
    configure("info", "text", output)
    with log_context(app="argocd/guestbook", revision="abc1234", note="two words"):
        log.warning("drift token=abc123")
    (line,) = output.getvalue().splitlines()
    assert line.endswith(
        " WARNING gitward.test.logsetup: drift token=*** "
        'app=argocd/guestbook revision=abc1234 note="two words"'
    )


def test_odd_messages_never_raise(output: io.StringIO, capsys: pytest.CaptureFixture[str]) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise ValueError("no")

    # pytest's own capture handler re-raises formatting errors, so this logger
    # reaches only the handler under test.
    handler = configure("info", "json", output)
    odd = logging.getLogger("gitward.test.logsetup.odd")
    odd.propagate = False
    odd.addHandler(handler)
    try:
        odd.info("%d items", "not a number")
        odd.info(Unprintable())
        odd.info("%s", Unprintable())
        with log_context(app=Unprintable(), ratio=float("nan")):
            odd.info("fields")
    finally:
        odd.removeHandler(handler)
    entries = lines(output)
    assert [e["msg"] for e in entries] == [
        "%d items [log arguments did not fit: not a number]",
        "<unprintable Unprintable>",
        "%s [log arguments did not fit: <unprintable Unprintable>]",
        "fields",
    ]
    assert entries[3]["app"] == "<unprintable Unprintable>"
    assert entries[3]["ratio"] == "nan"
    assert "Logging error" not in capsys.readouterr().err


def test_configure_replaces_its_own_handler_only(output: io.StringIO) -> None:
    root = logging.getLogger()
    before = len(root.handlers)
    configure("info", "text", io.StringIO())
    configure("info", "json", output)
    assert len(root.handlers) == before + 1
    log.info("once")
    assert len(lines(output)) == 1


@pytest.mark.parametrize(
    ("level", "fmt", "field"), [("loud", "text", "--log-level"), ("info", "xml", "--log-format")]
)
def test_bad_level_or_format_is_a_config_error(level: str, fmt: str, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        configure(level, fmt, io.StringIO())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ssh://git:pw@host/repo", "ssh://***@host/repo"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***"),
        ("GITWARD_GIT_PASSWORD=x1 a?token=t1&b=2", "GITWARD_GIT_PASSWORD=*** a?token=***&b=2"),
        ('{"bearerToken": "t2", "n": 1}', '{"bearerToken": "***", "n": 1}'),
        (
            "key -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- end",
            "key [private key redacted] end",
        ),
        ("tokens=5, 3 secrets found, using bearer token auth", None),
    ],
)
def test_redact(text: str, expected: str | None) -> None:
    assert redact(text) == (text if expected is None else expected)
    assert redact(redact(text)) == redact(text)
