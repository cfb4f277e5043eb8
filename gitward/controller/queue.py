"""The controller's work queue (it lives in :mod:`gitward._util.workqueue`, shared with appset)."""

from gitward._util.workqueue import WorkQueue

__all__ = ["WorkQueue"]
