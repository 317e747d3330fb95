"""The web console in a real Chromium: the dashboard, the trace explorer, promotions decided
by role, and the audit log with its verification; each page saved as a screenshot."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page

from tests.server.conftest import Gateway


def _login(browser: Browser, gateway: Gateway, role: str, tab: str) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    page.goto(f"{gateway.url}/console?tab={tab}")
    page.fill("#key", gateway.keys[role])
    page.press("#key", "Enter")
    return page


def _screenshot(page: Page, folder: Path, name: str) -> None:
    path = folder / f"console-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000  # a rendered page, not an empty canvas


def test_the_dashboard_shows_each_deployment_s_traffic(
    gateway: Gateway, browser: Browser, tmp_path: Path
) -> None:
    for _ in range(3):
        gateway.ask("viewer")
    page = _login(browser, gateway, "viewer", "deployments")
    page.wait_for_function("document.getElementById('deployment-rows').children.length >= 2")
    row = page.locator("#deployment-rows tr", has_text="bot@production")
    cells = row.locator("td")
    assert cells.nth(1).text_content() == "bot@1"
    assert int(cells.nth(2).text_content() or "0") >= 3
    assert row.locator("svg polyline").count() == 1
    assert "slow@production" in (page.text_content("#deployment-rows") or "")
    _screenshot(page, tmp_path, "deployments")
    page.close()


def test_the_trace_explorer_draws_a_request_s_inference_graph(
    gateway: Gateway, browser: Browser, tmp_path: Path
) -> None:
    asked = gateway.ask("viewer")["trace_id"]
    page = _login(browser, gateway, "viewer", "traces")
    page.wait_for_selector(f"#trace-rows a:text('{asked[:12]}')")
    page.click(f"#trace-rows a:text('{asked[:12]}')")
    page.wait_for_selector("#trace-detail:not([hidden])")
    tree = page.text_content("#trace-tree") or ""
    assert tree.startswith("request") and "generate" in tree and "model_call" in tree
    assert "input_tokens=" in tree
    assert (page.text_content("#trace-title") or "").startswith(f"trace {asked}")
    _screenshot(page, tmp_path, "trace")
    page.close()


def test_a_promotion_is_decided_by_role_and_the_audit_log_shows_it(
    gateway: Gateway, browser: Browser, tmp_path: Path
) -> None:
    body = {"release": gateway.releases[1]}
    status, asked = gateway.call("PUT", "/api/deployments/bot/canary", "approver", body)
    assert status == 202 and asked["status"] == "awaiting_approval"
    viewer = _login(browser, gateway, "viewer", "promotions")
    viewer.click("button[data-verb=approve]")
    viewer.wait_for_function("document.getElementById('status').textContent.startsWith('403')")
    assert "may not deploy" in (viewer.text_content("#status") or "")
    viewer.close()
    admin = _login(browser, gateway, "admin", "promotions")
    admin.click("button[data-verb=approve]")
    admin.wait_for_function("document.getElementById('status').textContent.endsWith('deployed')")
    _screenshot(admin, tmp_path, "promotions")
    admin.click("#tabs button[data-tab=audit]")
    admin.wait_for_function("document.getElementById('audit-verify').textContent !== ''")
    assert (admin.text_content("#audit-verify") or "").startswith("chain verified")
    assert "promotion.approve" in (admin.text_content("#audit-rows") or "")
    _screenshot(admin, tmp_path, "audit")
    admin.close()
