"""The web UI end to end: what a person does in the browser, checked in the cluster too.

Sign in, filter, open an app, read its tree, open a diff, dry-run then sync and watch
it finish, roll back, sign out; a read-only account sees disabled buttons; hostile
strings render as text; the list follows the stream without a reload.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from playwright.async_api import Page, expect

from gitward.cluster import KubeClient, NotFound
from tests.support.apps import yaml_docs
from tests.support.brief import gitward
from tests.support.git import GitRepo
from tests.support.poll import eventually
from tests.support.uiserver import ADMIN_PASSWORD, READER, READER_PASSWORD, UiServer

API = "argoproj.io/v1alpha1"


def manifests(greeting: str, replicas: int = 1, config_wave: int = 0) -> str:
    config_meta: dict[str, Any] = {"name": "web-config"}
    if config_wave:
        config_meta["annotations"] = {"argocd.argoproj.io/sync-wave": str(config_wave)}
    return yaml_docs(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": config_meta,
            "data": {"greeting": greeting},
        },
    )


def application(
    name: str, repo: GitRepo, *, path: str = "app", labels: dict[str, str] | None = None,
    automated: bool = False,
) -> dict[str, Any]:  # fmt: skip
    policy: dict[str, Any] = {"syncOptions": ["CreateNamespace=true"]}
    if automated:
        policy["automated"] = {}
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", "labels": labels or {}},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo.url, "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
            "syncPolicy": policy,
        },
    }


async def app_status(kube: KubeClient, name: str) -> dict[str, Any]:
    try:
        obj = await kube.get(API, "Application", name, "argocd")
    except NotFound:
        return {}
    return dict(obj.get("status") or {})


async def sign_in(page: Page, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    await page.goto("/applications")
    await expect(page.locator("form.login")).to_be_visible()
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("form.login button[type=submit]")
    await expect(page.locator("[data-test=username]")).to_have_text(username)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


async def test_wrong_password_is_refused_with_a_message(page: Page, server: UiServer) -> None:
    await page.goto("/applications/argocd/anything")
    await page.fill("input[name=username]", "admin")
    await page.fill("input[name=password]", "not-the-password")
    await page.click("form.login button[type=submit]")
    await expect(page.get_by_role("alert")).to_have_text("Invalid username or password")
    # Signing in afterwards returns to the page first asked for.
    await page.fill("input[name=password]", ADMIN_PASSWORD)
    await page.click("form.login button[type=submit]")
    await expect(page).to_have_url(re.compile(r"/applications/argocd/anything$"))


async def test_sign_in_filter_tree_diff_sync_rollback_sign_out(
    page: Page, installed: KubeClient, server: UiServer, tmp_path: Path
) -> None:
    kube = installed
    repo = GitRepo(tmp_path / "git" / "web")
    first = repo.commit({"app/all.yaml": manifests("hello")}, "web: first")
    name, other = unique("web"), unique("other")
    await kube.create(application(name, repo, labels={"team": "a"}))
    await kube.create(application(other, repo, labels={"team": "b"}))

    async def compared() -> bool:
        return (await app_status(kube, name)).get("sync", {}).get("status") == "OutOfSync"

    await eventually(compared, f"{name} compared by the controller")

    await sign_in(page)
    # Filter: a search and a label selector narrow the list; both land in the URL.
    await page.fill("input[type=search]", name)
    await expect(page.locator("[data-test=count] b")).to_have_text("1")
    await expect(page).to_have_url(re.compile(rf"q={name}"))
    await page.fill("input[type=search]", "")
    await page.fill("input[aria-label='Label selector']", "team=b")
    await expect(page.locator(f"[data-app={other}]")).to_be_visible()
    await expect(page.locator(f"[data-app={name}]")).to_have_count(0)
    await expect(page).to_have_url(re.compile(r"labels=team%3Db"))
    await page.fill("input[aria-label='Label selector']", "team=a")
    await page.locator(f"[data-app={name}]").click()

    # The tree: the declared resources, Missing before the first sync.
    tree = page.locator("[data-test=tree]")
    await expect(tree.locator(".node[data-kind=Deployment][data-name=web]")).to_be_visible()
    await expect(page.locator("[data-test=sync]")).to_have_text("OutOfSync")

    # The diff of the ConfigMap: everything is to be added.
    await tree.locator(".node[data-kind=ConfigMap]").click()
    await page.locator("[data-tab=diff]").click()
    diff = page.locator("[data-test=diff]")
    await expect(diff).to_contain_text("greeting: hello")
    assert int(await diff.get_attribute("data-changes") or 0) > 0
    await page.get_by_role("button", name="Close").click()

    # A dry run shows what would change and changes nothing.
    await page.get_by_role("button", name="Sync", exact=True).click()
    await page.locator("[data-test=sync-dry-run]").click()
    result = page.locator("[data-test=dry-run-result]")
    await expect(result).to_contain_text("Dry run Succeeded", timeout=60_000)
    await expect(result).to_contain_text("web-config")
    assert (await app_status(kube, name)).get("sync", {}).get("status") == "OutOfSync"
    with_history = (await app_status(kube, name)).get("history") or []
    assert with_history == []

    # Prune asks for the app's name typed before Synchronize is enabled.
    go = page.locator("[data-test=sync-go]")
    prune = page.locator(".dialog input[name=prune]")
    await prune.check()
    await expect(go).to_be_disabled()
    await page.locator("[data-test=confirm]").fill("not-the-name")
    await expect(go).to_be_disabled()
    await page.locator("[data-test=confirm]").fill(name)
    await expect(go).to_be_enabled()
    await prune.uncheck()

    # The real sync: the operation view follows it to the end.
    await go.click()
    await expect(page.locator("[data-test=operation-panel]")).to_contain_text(
        "Succeeded", timeout=60_000
    )
    await expect(page.locator("[data-test=sync]")).to_have_text("Synced", timeout=60_000)
    live = await kube.get("v1", "ConfigMap", "web-config", name)
    assert live["data"] == {"greeting": "hello"}

    # The tree now holds what the Deployment owns (a ReplicaSet and its Pod).
    await page.locator("[data-view=tree]").click()
    await expect(tree.locator(".node[data-kind=ReplicaSet]")).to_be_visible(timeout=30_000)
    await expect(tree.locator(".node[data-kind=Pod]")).to_have_count(1, timeout=30_000)

    # A second revision, synced; then roll back to the first from History.
    second = repo.commit({"app/all.yaml": manifests("bonjour")}, "web: say bonjour")
    await page.get_by_role("button", name="Hard refresh").click()
    await expect(page.locator("[data-test=sync]")).to_have_text("OutOfSync", timeout=60_000)
    await page.get_by_role("button", name="Sync", exact=True).click()
    await page.locator("[data-test=sync-go]").click()
    await expect(page.locator("[data-test=revision]")).to_have_text(second[:10], timeout=60_000)
    await expect(page.locator("[data-test=sync]")).to_have_text("Synced", timeout=60_000)

    await page.locator("[data-view=history]").click()
    rows = page.locator("[data-test=history] tbody tr")
    # History is written at the operation's end; a refresh may show Synced before it.
    await expect(rows).to_have_count(2, timeout=60_000)
    first_row = page.locator("tr[data-history-id]", has_text=first[:10])
    await first_row.locator("[data-test=rollback]").click()
    await page.locator("[data-test=rollback-go]").click()

    async def rolled_back() -> bool:
        cm = await kube.get("v1", "ConfigMap", "web-config", name)
        return cm["data"] == {"greeting": "hello"}

    await eventually(rolled_back, "the ConfigMap back at the first revision")
    # The operation view shows the rollback's revision; the app is behind Git's head again.
    operation = page.locator("[data-test=operation-panel]")
    await expect(operation).to_contain_text(f"revision {first[:10]}", timeout=60_000)
    await expect(operation).to_contain_text("Succeeded")
    await expect(page.locator("[data-test=sync]")).to_have_text("OutOfSync", timeout=60_000)

    # Sign out: back to the sign-in page, and the API refuses the old page's calls.
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.locator("form.login")).to_be_visible()
    await page.goto(f"/applications/argocd/{name}")
    await expect(page.locator("form.login")).to_be_visible()


async def test_readonly_user_sees_disabled_buttons(
    page: Page, installed: KubeClient, server: UiServer, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "git" / "ro")
    repo.commit({"app/all.yaml": manifests("hi")}, "first")
    name = unique("ro")
    await installed.create(application(name, repo))
    await sign_in(page, READER, READER_PASSWORD)
    await page.goto(f"/applications/argocd/{name}")
    sync = page.get_by_role("button", name="Sync", exact=True)
    await expect(sync).to_be_disabled()
    await expect(sync).to_have_attribute("title", "Your role does not allow this")
    # Reading is allowed: refresh is enabled, the tree shows.
    await expect(page.get_by_role("button", name="Refresh", exact=True)).to_be_enabled()
    await expect(page.locator("[data-test=tree] .node[data-kind=ConfigMap]")).to_be_visible()


async def test_hostile_strings_render_as_text(
    page: Page, installed: KubeClient, server: UiServer, tmp_path: Path
) -> None:
    payload = "<img src=x onerror=\"document.title='pwned'\">"
    repo = GitRepo(tmp_path / "git" / "evil")
    repo.commit({"app/all.yaml": manifests("hi")}, "first")
    name = unique("evil")
    await installed.create(application(name, repo, path=payload))
    await sign_in(page)
    await page.fill("input[type=search]", name)
    await expect(page.locator(f"[data-app={name}]")).to_contain_text(payload)
    await page.locator(f"[data-app={name}]").click()
    await expect(page.locator(".apphead")).to_contain_text(payload)
    assert await page.locator("#app img").count() == 0
    assert await page.title() != "pwned"


async def test_list_follows_the_stream_and_keyboard(
    page: Page, installed: KubeClient, server: UiServer, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "git" / "live")
    repo.commit({"app/all.yaml": manifests("hi")}, "first")
    prefix = unique("live")
    await sign_in(page)
    # Filters from a shared link are applied as the page opens.
    await page.goto(f"/applications?q={prefix}&view=list")
    await expect(page.locator("[data-test=count] b")).to_have_text("0")
    await expect(page.locator("[data-test=stream-state]")).to_have_text("● live")
    await installed.create(application(f"{prefix}-a", repo))
    await expect(page.locator(f".row[data-app={prefix}-a]")).to_be_visible(timeout=10_000)
    await expect(page.locator("[data-test=count] b")).to_have_text("1")
    # Keyboard: Enter opens the selected app; Backspace goes back to the list.
    await page.locator(".viewport").focus()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(rf"/applications/argocd/{prefix}-a"))
    await expect(page.locator(".apphead h1")).to_have_text(f"{prefix}-a")
    # In the tree, arrows walk the nodes and Enter opens the resource panel.
    tree = page.locator("[data-test=tree]")
    await tree.locator(".node[data-kind=ConfigMap]").focus()
    await page.keyboard.press("ArrowDown")
    await expect(tree.locator(".node[data-kind=Deployment]")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("[data-test=resource-panel]")).to_contain_text("Deployment web")
    await page.keyboard.press("Escape")
    await expect(page.locator("[data-test=resource-panel]")).to_have_count(0)
    await page.keyboard.press("Backspace")
    await expect(page).to_have_url(re.compile(r"/applications$"))
    await page.keyboard.press("/")
    assert await page.evaluate("document.activeElement.type") == "search"


async def test_dependency_view_both_ways(
    page: Page, installed: KubeClient, server: UiServer, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "git" / "deps")
    repo.commit({"app/all.yaml": manifests("hi")}, "first")
    base, needs = unique("db"), unique("api")
    await installed.create(application(base, repo))
    dependent = application(needs, repo)
    dependent["metadata"]["annotations"] = {"gitward.io/depends-on": f"{base},{base}-gone"}
    await installed.create(dependent)
    await sign_in(page)
    await page.goto(f"/applications/argocd/{needs}?view=dependencies")
    view = page.locator("[data-test=dependencies]")
    await expect(view.locator(f"[data-dep={base}]")).to_be_visible()
    await expect(view.locator(f"[data-dep={base}-gone]")).to_contain_text("missing")
    await view.locator(f"[data-dep={base}] a").click()
    await expect(page).to_have_url(re.compile(rf"/applications/argocd/{base}\?view=dependencies$"))
    await expect(page.locator("[data-test=dependencies]")).to_contain_text("Waited for by")
    await expect(page.locator(f"[data-test=dependencies] [data-dep={needs}]")).to_be_visible()


async def test_sign_in_never_returns_to_another_origin(page: Page, server: UiServer) -> None:
    for hostile in ("//evil.example/x", "/\\evil.example/x", "https://evil.example/"):
        await page.goto(f"/login?return={quote(hostile, safe='')}")
        await page.fill("input[name=username]", "admin")
        await page.fill("input[name=password]", ADMIN_PASSWORD)
        await page.click("form.login button[type=submit]")
        await expect(page).to_have_url(f"{server.url}/applications")
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.locator("form.login")).to_be_visible()


async def test_a_sync_from_the_cli_shows_in_the_open_page(
    page: Page, installed: KubeClient, server: UiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "git" / "cli")
    repo.commit({"app/all.yaml": manifests("hi", replicas=9, config_wave=1)}, "first")
    name = unique("cli")
    await installed.create(application(name, repo))
    await sign_in(page)
    await page.goto(f"/applications/argocd/{name}?view=operation")
    await expect(page.locator("[data-test=operation]")).to_have_text("—")
    done = await asyncio.to_thread(gitward, kubeconfig, "app", "sync", name)
    assert done.returncode == 0, done.stderr
    # No reload: the page hears it from the stream.
    await expect(page.locator("[data-test=operation]")).to_contain_text("Succeeded")
    # Wave by wave: the Deployment in wave 0, the ConfigMap (sync-wave 1) after it.
    panel = page.locator("[data-test=operation-panel]")
    await expect(panel.locator("h3")).to_have_text(["Sync · wave 0", "Sync · wave 1"])
    await expect(panel.locator("div", has=page.locator("h3", has_text="wave 1"))).to_contain_text(
        "web-config"
    )
    await expect(page.locator("[data-test=sync]")).to_have_text("Synced")
    # Nine Pods of one ReplicaSet fold into one group until it is opened.
    await page.locator("[data-view=tree]").click()
    group = page.locator("[data-test=tree] .node[data-group=Pod]")
    await expect(group).to_contain_text("9 Pod", timeout=30_000)
    await expect(page.locator("[data-test=tree] .node[data-kind=Pod]")).to_have_count(0)
    await group.locator("button").click()
    await expect(page.locator("[data-test=tree] .node[data-kind=Pod]")).to_have_count(9)


async def test_rollback_warns_turns_auto_sync_off_and_offers_it_back(
    page: Page, installed: KubeClient, server: UiServer, tmp_path: Path
) -> None:
    kube = installed
    repo = GitRepo(tmp_path / "git" / "auto")
    first = repo.commit({"app/all.yaml": manifests("one")}, "one")
    name = unique("auto")
    await kube.create(application(name, repo, automated=True))

    async def greeting(value: str) -> bool:
        try:
            cm = await kube.get("v1", "ConfigMap", "web-config", name)
        except NotFound:
            return False
        return bool(cm["data"] == {"greeting": value})

    await eventually(lambda: greeting("one"), "auto-sync of the first revision")
    second = repo.commit({"app/all.yaml": manifests("two")}, "two")
    await sign_in(page)
    await page.goto(f"/applications/argocd/{name}")
    await page.get_by_role("button", name="Hard refresh").click()
    await eventually(lambda: greeting("two"), "auto-sync of the second revision")
    await expect(page.locator("[data-test=revision]")).to_have_text(second[:10])

    await page.locator("[data-view=history]").click()
    # The diff between the two deployed revisions' manifests.
    for box in await page.locator("[data-test=history] tbody input[type=checkbox]").all():
        await box.check()
    await page.get_by_role("button", name="Diff the two selected").click()
    between = page.locator("[data-test=history-diff]")
    await expect(between).to_contain_text("2 changed lines", timeout=30_000)
    await expect(between.locator("tr.del")).to_contain_text("greeting: one")
    await expect(between.locator("tr.add")).to_contain_text("greeting: two")

    first_row = page.locator("tr[data-history-id]", has_text=first[:10])
    await first_row.locator("[data-test=rollback]").click()
    await expect(page.locator("[data-test=rollback-warning]")).to_contain_text("turns it off")
    await page.locator("[data-test=rollback-go]").click()
    await eventually(lambda: greeting("one"), "the rollback to the first revision")
    spec = (await kube.get(API, "Application", name, "argocd"))["spec"]
    assert "automated" not in (spec.get("syncPolicy") or {})
    await expect(page.locator("[data-test=autosync]")).to_have_text("disabled")

    await page.locator("[data-test=restore-autosync]").click()
    await expect(page.locator("[data-test=autosync]")).to_have_text("enabled")
    spec = (await kube.get(API, "Application", name, "argocd"))["spec"]
    assert spec["syncPolicy"]["automated"] == {}
