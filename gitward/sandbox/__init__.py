"""Jailed worker processes for hostile expressions: ``jqPathExpressions`` from
Applications and ApplicationSets run here, never in the controller's own process.

Layer 2: starts processes; the pure comparison (``gitward.diff``) only sees the
evaluator contract in :mod:`gitward.model.jq`.
"""

from gitward.sandbox.jqrun import JqRunner, default_runner

__all__ = ["JqRunner", "default_runner"]
