"""Custom health in Lua, with Argo CD's contract and a sandbox Argo CD does not have.

The contract is Argo CD's: the script sees the live object as the global
``obj`` (a Lua table; lists are 1-based), and returns a table ``{status = ...,
message = ...}`` whose ``status`` is one of Healthy, Progressing, Degraded,
Suspended, Missing or Unknown. Lua 5.1 semantics, as gopher-lua gives Argo
CD, come from lupa's bundled Lua 5.1.

The sandbox: a script gets the base functions that compute (``pairs``,
``tostring``, ``pcall``...), ``table``, ``string``, ``math`` and the harmless
part of ``os`` (``time``, ``date``, ``clock``, ``difftime``) — also through
``require``. There is no ``io``, ``debug``, ``load``/``loadstring``/``dofile``,
``os.execute``/``os.getenv``/``os.remove``, ``package``, ``coroutine`` or
``string.dump``, so a script cannot read a file, run a program or make new
code. Each run has an instruction budget and a deadline, enforced by a count
hook that ``pcall``/``xpcall`` cannot swallow, and the interpreter has a
memory ceiling: a script that loops forever or builds a huge string is
stopped and reported, and the controller goes on. Every run has a fresh
global table, so one script cannot leave anything behind for the next.

(Argo CD's ``useOpenLibs`` turns on all of Lua's libraries; gitward parses the
key but gives every script the same safe set, which already holds the
``string`` and ``math`` functions people turn it on for.)
"""

from __future__ import annotations

import threading
from typing import Any

import lupa.lua51 as lua51

from gitward._util.hashing import digest_of
from gitward._util.lru import BoundedLRU, LatestVersions
from gitward.model.errors import GitwardError
from gitward.model.status import Health, HealthStatus

Obj = dict[str, Any]

#: Instructions one run may execute (about 70 ms of pure Lua on the test machine).
MAX_INSTRUCTIONS = 20_000_000
#: Wall-clock limit of one run, Argo CD's own timeout.
MAX_SECONDS = 1.0
#: Memory the interpreter may hold in all.
MAX_MEMORY = 64 * 1024 * 1024
_HOOK_EVERY = 1000

_RUNNER = """
local sethook, clock, real_pcall, real_xpcall = debug.sethook, os.clock, pcall, xpcall
local real_error, setfenv, loadstring, type, unpack = error, setfenv, loadstring, type, unpack
local budget = {}

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local function reraise(ok, ...)
  if not ok and (...) == budget then real_error(budget, 0) end
  return ok, ...
end

local safe_os = {time = os.time, date = os.date, clock = os.clock, difftime = os.difftime}
local safe_string = copy(string)
safe_string.dump = nil

local function environment(obj)
  local modules = {
    os = copy(safe_os), string = copy(safe_string), table = copy(table), math = copy(math),
  }
  local env = {
    assert = assert, error = real_error, ipairs = ipairs, next = next, pairs = pairs,
    select = select, tonumber = tonumber, tostring = tostring, type = type, unpack = unpack,
    rawequal = rawequal, rawget = rawget, rawset = rawset, setmetatable = setmetatable,
    _VERSION = _VERSION, print = function() end,
    getmetatable = function(v)
      if type(v) == "string" then return nil end
      return getmetatable(v)
    end,
    pcall = function(f, ...) return reraise(real_pcall(f, ...)) end,
    xpcall = function(f, handler)
      return reraise(real_xpcall(f, function(e)
        if e == budget then return budget end
        return handler(e)
      end))
    end,
    require = function(name)
      local m = modules[name]
      if m == nil then real_error("module '" .. tostring(name) .. "' is not available", 2) end
      return m
    end,
    obj = obj,
  }
  for name, m in pairs(modules) do env[name] = m end
  env._G = env
  return env
end

local function compile(source)
  local fn, problem = loadstring(source, "=health.lua")
  return fn or false, problem or ""
end

local function run(fn, obj, limit, seconds, every)
  setfenv(fn, environment(obj))
  local count, deadline = 0, clock() + seconds
  sethook(function()
    count = count + 1
    if count > limit or clock() > deadline then real_error(budget, 0) end
  end, "", every)
  local ok, result = real_pcall(fn)
  sethook()
  if not ok and result == budget then
    if count > limit then return "budget", nil end
    return "deadline", nil
  end
  if not ok then return "error", tostring(result) end
  if type(result) ~= "table" then return "type", type(result) end
  return "ok", {status = result.status, message = result.message}
end

return compile, run
"""

_STATUSES = {str(s): s for s in HealthStatus}


class HealthScriptError(GitwardError):
    """A health script failed, ran too long or returned something that is not a health."""


class LuaHealth:
    """Runs health scripts; one interpreter per instance, one script run at a time."""

    def __init__(
        self,
        max_instructions: int = MAX_INSTRUCTIONS,
        max_seconds: float = MAX_SECONDS,
        max_memory: int = MAX_MEMORY,
    ) -> None:
        self.max_instructions = max_instructions
        self.max_seconds = max_seconds
        self._lock = threading.Lock()
        self._runtime = lua51.LuaRuntime(
            max_memory=max_memory,
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
        )
        self._compile, self._run = self._runtime.execute(_RUNNER)
        self._compiled: BoundedLRU[str, Any] = BoundedLRU(256)
        #: Verdicts by (script digest, uid), for the newest resourceVersion judged: an object
        #: version is judged once, and a superseded version's verdict is never kept.
        self._verdicts: LatestVersions[tuple[str, str], Health | str] = LatestVersions(20_000)

    def evaluate(self, script: str, obj: Obj, what: str) -> Health:
        """The health ``script`` gives ``obj``; :class:`HealthScriptError` if it fails.

        ``what`` names the customization in messages (``argocd-cm health script for
        cert-manager.io/Certificate``).
        """
        meta = obj.get("metadata") or {}
        digest = digest_of([script], 16)
        key = (digest, str(meta.get("uid") or ""))
        version = str(meta.get("resourceVersion") or "")
        cacheable = bool(key[1] and version)
        found = self._verdicts.get(key, version) if cacheable else None
        if found is None:
            found = self._evaluate(script, digest, obj, what)
            if cacheable:
                self._verdicts.put(key, version, found)
        if isinstance(found, str):
            raise HealthScriptError(found)
        return found

    def _evaluate(self, script: str, digest: str, obj: Obj, what: str) -> Health | str:
        with self._lock:
            try:
                fn = self._compiled.get(digest)
                if fn is None:
                    fn, problem = self._compile(script)
                    if fn is False:
                        return f"{what}: does not compile: {problem}"
                    self._compiled.put(digest, fn)
                table = self._runtime.table_from(obj, recursive=True)
                outcome, detail = self._run(fn, table, self._limit(), self.max_seconds, _HOOK_EVERY)
            except lua51.LuaMemoryError:
                return f"{what}: stopped: used more than the interpreter's memory limit"
            except lua51.LuaError as exc:
                return f"{what}: failed: {exc}"
            finally:
                self._runtime.gccollect()
            return self._verdict(outcome, detail, what)

    def _limit(self) -> int:
        return max(1, self.max_instructions // _HOOK_EVERY)

    def _verdict(self, outcome: str, detail: Any, what: str) -> Health | str:
        if outcome == "budget":
            return f"{what}: stopped after {self.max_instructions:,} instructions"
        if outcome == "deadline":
            return f"{what}: stopped after {self.max_seconds:g}s"
        if outcome == "error":
            if "not enough memory" in str(detail):
                return f"{what}: stopped: used more than the interpreter's memory limit"
            return f"{what}: failed: {detail}"
        if outcome == "type":
            return f"{what}: expect table output from Lua script, not {detail}"
        status = detail["status"]
        message = detail["message"]
        if not isinstance(status, str) or status not in _STATUSES:
            return Health(HealthStatus.UNKNOWN, "Lua returned an invalid health status")
        text = message if isinstance(message, str) else "" if message is None else str(message)
        return Health(_STATUSES[status], text)
