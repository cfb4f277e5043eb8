"""ApplicationSets: one template, many Applications — and no mass deletion by accident.

Layer 6, beside :mod:`gitward.controller` (which it does not import): generators
(``generators/``, one module each, plain dicts in and out), templates
(``template``, fasttemplate in Python and goTemplate in Go, ``gotemplate``), checks
(``validate``), what a generation changes (``plan``, with the deletion threshold),
progressive syncs (``rollout``), the reconciler of one set and the controller loop.
It writes Applications and ApplicationSet status through the cluster client and
never syncs anything itself: the Application controller does that.
"""

from gitward.appset.controller import AppIndex, AppSetController, InformerIndex
from gitward.appset.generate import Generation, GenerationError, generate
from gitward.appset.gotemplate import GoTemplateError, GoTemplates
from gitward.appset.reconciler import AppSetReconciler, Outcome
from gitward.appset.sources import AppSetSources
from gitward.appset.template import Desired

__all__ = [
    "AppIndex",
    "AppSetController",
    "AppSetReconciler",
    "AppSetSources",
    "Desired",
    "Generation",
    "GenerationError",
    "GoTemplateError",
    "GoTemplates",
    "InformerIndex",
    "Outcome",
    "generate",
]
