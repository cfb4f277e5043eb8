"""ApplicationSet goTemplate rendering: :mod:`gitward.render.gotemplate` (shared with
notifications), re-exported where the ApplicationSet code has always imported it."""

from gitward.render.gotemplate import BINARY, GoTemplateError, GoTemplates, Job, Rendered

__all__ = ["BINARY", "GoTemplateError", "GoTemplates", "Job", "Rendered"]
