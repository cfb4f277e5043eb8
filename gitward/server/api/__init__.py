"""The REST API's route modules, one per Argo CD service (projects, repositories, ...).

Each module exposes ``add_routes(app)``, which mounts its routes through
:func:`gitward.server.api.routing.mount` so that every mounted route is also
described in the OpenAPI document (``/api/openapi.json``).
"""
