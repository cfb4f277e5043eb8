"""The reconciling controller: what makes gitward pull-based.

Layer 6: uses sync (operations), appstate (refresh), cluster (watch) and the layers
below; knows nothing of HTTP, the CLI or the web UI.
"""

from gitward.controller.controller import Controller
from gitward.controller.queue import WorkQueue
from gitward.controller.reconciler import Reconciler

__all__ = ["Controller", "Reconciler", "WorkQueue"]
