"""One generation of an ApplicationSet: generators, then templates, to Applications.

Shared by the controller and by ``gitward appset generate`` (which prints what
a file would produce, for CI on a pull request): the same code decides both.
A failure anywhere raises :class:`GenerationError` carrying Argo CD's reason
(``ApplicationParamsGenerationError`` for a generator,
``RenderTemplateParamsError`` for a template) and a message naming the
generator: nothing is written then.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gitward.appset.generators import Context, GeneratorError, Sources, run_generators
from gitward.appset.generators.listings import TreeListings
from gitward.appset.gotemplate import GoTemplateError, GoTemplates
from gitward.appset.render import TreeRenderer
from gitward.appset.template import Desired, TemplateError, render_applications
from gitward.model.applicationset import ApplicationSet
from gitward.model.errors import ConfigError, GitwardError

PARAMS_ERROR = "ApplicationParamsGenerationError"
RENDER_ERROR = "RenderTemplateParamsError"


class GenerationError(ConfigError):
    """A generation failed; ``reason`` is Argo CD's condition reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class Generation:
    """What one generation produced, and what it read."""

    desired: list[Desired]
    #: Repositories read by git generators (normalised URL -> revision).
    repos: dict[str, str] = field(default_factory=dict)
    requeue_after: float | None = None


async def generate(
    appset: ApplicationSet,
    sources: Sources,
    go: GoTemplates,
    listings: TreeListings | None = None,
) -> Generation:
    """Every Application ``appset`` generates now; :class:`GenerationError` on any failure.

    ``listings``: the caller's memory of exported trees (a fresh one when not given).
    """
    renderer = TreeRenderer(appset.go_template, appset.go_template_options, go)
    ctx = Context(appset, sources, renderer, listings=listings or TreeListings())
    try:
        generated = await run_generators(ctx)
    except GoTemplateError as exc:
        raise GenerationError(PARAMS_ERROR, str(exc)) from None
    except GeneratorError as exc:
        raise GenerationError(PARAMS_ERROR, str(exc)) from None
    except GitwardError as exc:
        raise GenerationError(PARAMS_ERROR, f"spec.generators: {exc}") from None
    try:
        desired = await render_applications(appset, generated, renderer)
    except (TemplateError, GoTemplateError) as exc:
        raise GenerationError(RENDER_ERROR, str(exc)) from None
    return Generation(desired, dict(ctx.repos), ctx.requeue_after)
