"""The REST API's route modules, in Argo CD's paths and JSON shapes.

Each module exposes ``add_routes(app)``; :mod:`gitward.server.app` mounts them.
A route never decides access itself (it calls :func:`gitward.server.auth.require`),
never builds a client (it reads :data:`gitward.server.context.CONTEXT`), never
reads Applications from the API server (the informer in
:mod:`gitward.server.appstore` holds them), and never runs a sync (it writes the
Application's ``operation`` for the controller).

Routes are mounted through :func:`gitward.server.api.routing.mount`, so every mounted
route is also described in the OpenAPI document (``/api/openapi.json``).
"""
