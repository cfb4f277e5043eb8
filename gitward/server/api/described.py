"""How the routes other modules mount themselves look in the OpenAPI document.

The applications, streams, session and account routes are mounted by their own
modules with aiohttp's router; this table describes them (path, RBAC, query) so
``/api/openapi.json`` covers every route the server serves. The document lists an
entry only when its route is mounted, and :func:`gitward.server.api.openapi.undocumented`
reports a mounted route that neither the route table nor this one describes — so
a route added without a line here fails the route-table test.
"""

from __future__ import annotations

from gitward.server.api.routing import Route

APPS = "ApplicationService"
APP = "/api/v1/applications/{name}"
APP_QUERY = ("appNamespace", "project")
SESSION = "SessionService"
ACCOUNT = "AccountService"
PROJECT = "ProjectService"


def _r(
    method: str,
    path: str,
    op: str,
    summary: str,
    tag: str,
    rbac: tuple[str, str] | None,
    query: tuple[str, ...] = (),
    body: str | None = None,
    answer: str = "object",
) -> Route:
    return Route(method, path, None, summary, tag, rbac, query, (), body, answer, op)


DESCRIBED: tuple[Route, ...] = (
    # -- the server itself (gitward/server/app.py)
    _r("GET", "/healthz", "healthz", "The server process is up.", "Health", None, answer="text"),
    _r("GET", "/readyz", "readyz", "The server's informers have listed.", "Health", None,
       answer="text"),
    # -- applications (gitward/server/api/applications.py, operations, resources, appinfo)
    _r("GET", "/api/v1/applications", "ApplicationService_List",
       "List the Applications the caller may get (filters, pagination).", APPS,
       ("applications", "get"),
       ("name", "projects", "selector", "repo", "appNamespace", "refresh", "resourceVersion",
        "limit", "continue"), answer="ApplicationList"),
    _r("POST", "/api/v1/applications", "ApplicationService_Create", "Create an Application.",
       APPS, ("applications", "create"), ("upsert", "validate"), "Application", "Application"),
    _r("GET", APP, "ApplicationService_Get", "Get an Application (refresh=normal|hard).", APPS,
       ("applications", "get"), (*APP_QUERY, "refresh"), answer="Application"),
    _r("PUT", APP, "ApplicationService_Update", "Replace an Application.", APPS,
       ("applications", "update"), (*APP_QUERY, "validate"), "Application", "Application"),
    _r("PATCH", APP, "ApplicationService_Patch", "Patch an Application (merge or json).", APPS,
       ("applications", "update"), APP_QUERY, "ApplicationPatchRequest", "Application"),
    _r("DELETE", APP, "ApplicationService_Delete",
       "Delete an Application (cascade, propagationPolicy).", APPS,
       ("applications", "delete"), (*APP_QUERY, "cascade", "propagationPolicy")),
    _r("PUT", f"{APP}/spec", "ApplicationService_UpdateSpec", "Replace an Application's spec.",
       APPS, ("applications", "update"), (*APP_QUERY, "validate"), "ApplicationSpec",
       "ApplicationSpec"),
    _r("POST", f"{APP}/sync", "ApplicationService_Sync",
       "Ask for a sync: writes the operation the controller runs.", APPS,
       ("applications", "sync"), APP_QUERY, "ApplicationSyncRequest", "Application"),
    _r("POST", f"{APP}/rollback", "ApplicationService_Rollback",
       "Ask for a rollback to a history id: writes the operation.", APPS,
       ("applications", "sync"), APP_QUERY, "ApplicationRollbackRequest", "Application"),
    _r("DELETE", f"{APP}/operation", "ApplicationService_TerminateOperation",
       "Terminate the running operation.", APPS, ("applications", "sync"), APP_QUERY),
    _r("GET", f"{APP}/resource-tree", "ApplicationService_ResourceTree",
       "The Application's resources and their children.", APPS, ("applications", "get"),
       APP_QUERY, answer="ApplicationTree"),
    _r("GET", f"{APP}/managed-resources", "ApplicationService_ManagedResources",
       "Live, target and diff of each managed resource.", APPS, ("applications", "get"),
       (*APP_QUERY, "group", "kind", "namespace", "resourceName"),
       answer="ManagedResourcesResponse"),
    _r("GET", f"{APP}/manifests", "ApplicationService_GetManifests",
       "The rendered manifests (revision).", APPS, ("applications", "get"),
       (*APP_QUERY, "revision"), answer="ManifestResponse"),
    _r("GET", f"{APP}/events", "ApplicationService_ListResourceEvents",
       "Events of the Application or one of its resources.", APPS, ("applications", "get"),
       (*APP_QUERY, "resourceNamespace", "resourceName", "resourceUID"), answer="EventList"),
    _r("GET", f"{APP}/resource", "ApplicationService_GetResource", "One live resource.", APPS,
       ("applications", "get"),
       (*APP_QUERY, "namespace", "resourceName", "version", "group", "kind"),
       answer="ApplicationResourceResponse"),
    _r("POST", f"{APP}/resource", "ApplicationService_PatchResource",
       "Patch one live resource.", APPS, ("applications", "update"),
       (*APP_QUERY, "namespace", "resourceName", "version", "group", "kind", "patchType"),
       "string", "ApplicationResourceResponse"),
    _r("DELETE", f"{APP}/resource", "ApplicationService_DeleteResource",
       "Delete one live resource.", APPS, ("applications", "delete"),
       (*APP_QUERY, "namespace", "resourceName", "version", "group", "kind", "force",
        "orphan")),
    _r("GET", f"{APP}/syncwindows", "ApplicationService_GetApplicationSyncWindows",
       "The sync windows that apply to the Application.", APPS, ("applications", "get"),
       APP_QUERY, answer="ApplicationSyncWindowsResponse"),
    _r("GET", f"{APP}/revisions/{{revision}}/metadata", "ApplicationService_RevisionMetadata",
       "Author, date, message and tags of a revision.", APPS, ("applications", "get"),
       APP_QUERY, answer="RevisionMetadata"),
    # -- watch streams (gitward/server/api/streams.py)
    _r("GET", "/api/v1/stream/applications", "ApplicationService_Watch",
       "Application events as newline-delimited JSON.", APPS, ("applications", "get"),
       ("name", "projects", "selector", "appNamespace", "resourceVersion"),
       answer="StreamResultOfApplicationWatchEvent"),
    _r("GET", "/api/v1/stream/applications/{name}/resource-tree",
       "ApplicationService_WatchResourceTree",
       "The Application's resource tree as newline-delimited JSON.", APPS,
       ("applications", "get"), APP_QUERY, answer="StreamResultOfApplicationTree"),
    # -- the webhook (gitward/server/api/webhook.py): the provider's signature, no token
    _r("POST", "/api/webhook", "webhook",
       "A Git provider's push: refresh the Applications it may change.", "Webhook", None,
       body="WebhookPush"),
    # -- session and accounts (gitward/server/auth/routes.py)
    _r("POST", "/api/v1/session", "SessionService_Create",
       "Log in with a local account: a session token.", SESSION, None,
       body="SessionCreateRequest", answer="SessionResponse"),
    _r("DELETE", "/api/v1/session", "SessionService_Delete", "Log out.", SESSION, None),
    _r("GET", "/api/v1/session/userinfo", "SessionService_GetUserInfo",
       "Who the caller is.", SESSION, None, answer="GetUserInfoResponse"),
    _r("GET", "/auth/login", "SessionService_SSOLogin", "Single sign-on (not supported yet).",
       SESSION, None),
    _r("GET", "/api/v1/account", "AccountService_ListAccounts", "Local accounts.", ACCOUNT,
       ("accounts", "get"), answer="AccountsList"),
    _r("GET", "/api/v1/account/can-i/{resource}/{action}/{subresource}", "AccountService_CanI",
       "May the caller do this? yes or no.", ACCOUNT, None, answer="CanIResponse"),
    _r("PUT", "/api/v1/account/password", "AccountService_UpdatePassword",
       "Change a local account's password.", ACCOUNT, ("accounts", "update"),
       body="UpdatePasswordRequest"),
    _r("GET", "/api/v1/account/{name}", "AccountService_GetAccount", "One local account.",
       ACCOUNT, ("accounts", "get"), answer="Account"),
    _r("POST", "/api/v1/account/{name}/token", "AccountService_CreateToken",
       "Generate an API key for an account.", ACCOUNT, ("accounts", "update"),
       body="CreateTokenRequest", answer="CreateTokenResponse"),
    _r("DELETE", "/api/v1/account/{name}/token/{id}", "AccountService_DeleteToken",
       "Revoke an account's API key.", ACCOUNT, ("accounts", "update")),
    _r("POST", "/api/v1/projects/{project}/roles/{role}/token", "ProjectService_CreateToken",
       "Issue a project role token.", PROJECT, ("projects", "update"),
       body="ProjectTokenCreateRequest", answer="ProjectTokenResponse"),
    _r("DELETE", "/api/v1/projects/{project}/roles/{role}/token/{iat}",
       "ProjectService_DeleteToken", "Revoke a project role token.", PROJECT,
       ("projects", "update")),
)  # fmt: skip
