"""ApplicationSet generators: each one turns its spec into parameter sets (plain dicts).

One module per generator (``listgen``, ``clusters``, ``git``, ``matrix``,
``merge``); :func:`run_generators` walks ``spec.generators``, applies each
entry's ``selector``, and pairs each entry's sets with its template (the
generator's own ``template`` completed from the ApplicationSet's). The only
I/O goes through :class:`Sources`.
"""

from gitward.appset.generators.base import (
    Context,
    GeneratorError,
    GitTree,
    NoSources,
    Sources,
)
from gitward.appset.generators.dispatch import Generated, run_generators

__all__ = [
    "Context",
    "Generated",
    "GeneratorError",
    "GitTree",
    "NoSources",
    "Sources",
    "run_generators",
]
