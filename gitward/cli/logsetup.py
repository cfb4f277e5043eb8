"""Log output for long-running commands: text for people, JSON lines for log collectors.

Both formats carry the fields bound with :func:`gitward._util.logcontext.log_context`
(app, revision, operation), so one app's story can be pulled out of a busy
controller's log with a single filter.

Two promises hold whatever a caller logs:

- **No credentials.** Every line goes through :func:`gitward._util.redact.redact`
  last: URL user-info, ``Authorization`` headers and bearer tokens,
  ``password=``/``token=``/``secret=`` pairs and PEM private keys are masked.
  In JSON the string values are redacted before encoding and the encoded line
  once more, and the patterns stop at quotes and backslashes, so the line
  stays valid JSON.
- **Never an exception from logging.** A message whose ``%`` arguments do not
  fit, or an object whose ``str()`` raises, is written as best it can be rather
  than replaced by the logging module's ``--- Logging error ---`` dump.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
from datetime import UTC, datetime
from typing import Literal, TextIO

from gitward._util.logcontext import ContextFilter
from gitward._util.redact import MASK as _MASK
from gitward._util.redact import SECRET_NAME, redact
from gitward.model.errors import ConfigError

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,  # Argo CD's spelling
    "error": logging.ERROR,
}

#: Keys of a JSON line that bound fields may not take (a clash is written as ``context.KEY``).
JSON_KEYS = ("time", "level", "logger", "msg", "error")

_SECRET_FIELD = SECRET_NAME


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _message(record: logging.LogRecord) -> str:
    """``record.getMessage()``, or the raw message and arguments when they do not fit."""
    try:
        return record.getMessage()
    except Exception:
        args = record.args
        if not args:
            return _safe_str(record.msg)
        shown = ", ".join(map(_safe_str, args)) if isinstance(args, tuple) else _safe_str(args)
        return f"{_safe_str(record.msg)} [log arguments did not fit: {shown}]"


def _field_text(value: object) -> str:
    """A field value for the text format: bare when simple, JSON-quoted otherwise."""
    text = _safe_str(value)
    if text and not re.search(r"[\s\"'=]", text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, str | bool | int):
        return redact(value) if isinstance(value, str) else value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return redact(_safe_str(value))


class _Formatter(logging.Formatter):
    """Shared exception/stack text, guarded so that formatting never raises."""

    def _traceback(self, record: logging.LogRecord) -> str:
        parts: list[str] = []
        try:
            if record.exc_info:
                parts.append(self.formatException(record.exc_info))
            elif record.exc_text:
                parts.append(record.exc_text)
            if record.stack_info:
                parts.append(self.formatStack(record.stack_info))
        except Exception:
            parts.append("<traceback could not be formatted>")
        return "\n".join(parts)

    @staticmethod
    def _fields(record: logging.LogRecord) -> dict[str, object]:
        fields = getattr(record, "context", None)
        return dict(fields) if isinstance(fields, dict) else {}


class TextFormatter(_Formatter):
    """``TIME LEVEL logger: message app=... revision=...``, then any traceback."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        try:
            record.message = _message(record)
            record.asctime = self.formatTime(record, self.datefmt)
            line = self.formatMessage(record)
            for key, value in self._fields(record).items():
                line += f" {key}={_field_text(value)}"
            traceback = self._traceback(record)
            if traceback:
                line += "\n" + traceback
        except Exception as exc:
            line = f"{record.levelname} {record.name}: <log record not formattable: {exc!r}>"
        return redact(line)


class JsonFormatter(_Formatter):
    """One JSON object per line: time, level, logger, msg, the bound fields, error."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            stamp = datetime.fromtimestamp(record.created, UTC)
            entry: dict[str, object] = {
                "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "level": record.levelname.lower(),
                "logger": record.name,
                "msg": redact(_message(record)),
            }
            for key, value in self._fields(record).items():
                shown = _MASK if _SECRET_FIELD.fullmatch(key) else _jsonable(value)
                entry[f"context.{key}" if key in JSON_KEYS else key] = shown
            traceback = self._traceback(record)
            if traceback:
                entry["error"] = redact(traceback)
            line = json.dumps(entry, ensure_ascii=False, default=_safe_str)
        except Exception as exc:
            line = json.dumps(
                {
                    "level": "error",
                    "logger": "gitward.logging",
                    "msg": f"log record not formattable: {_safe_str(exc)}",
                }
            )
        return redact(line)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`configure` installs, told apart from others' so a re-run replaces it."""


def configure(level: str, fmt: LogFormat, stream: TextIO | None = None) -> logging.Handler:
    """Send every logger's records to ``stream`` (stderr) at ``level``, as ``fmt``.

    Replaces what an earlier call installed (and only that: handlers others put
    on the root logger, such as pytest's, stay). Raises :class:`ConfigError` for
    an unknown level or format. Returns the handler, for tests and for removal.
    """
    wanted = LEVELS.get(level.strip().lower())
    if wanted is None:
        raise ConfigError(f"--log-level {level!r}: expected debug, info, warning or error")
    formatter: logging.Formatter
    if fmt == "text":
        formatter = TextFormatter()
    elif fmt == "json":
        formatter = JsonFormatter()
    else:
        raise ConfigError(f"--log-format {fmt!r}: expected text or json")
    handler = _Handler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(wanted)
    return handler
