"""The web console in a real Chromium: the dashboard, the trace explorer, promotions decided
by role, and the audit log with its verification; each page saved as a screenshot."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page

from steerwise import Workspace
from tests.conftest import simple_prompt, write_prompt
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
    assert "input_tokens=" in tree and 'attempts=[{"model":"scripted"' in tree
    assert (page.text_content("#trace-title") or "").startswith(f"trace {asked}")
    _screenshot(page, tmp_path, "trace")
    page.fill("#trace-deployment", "bot@production")
    page.select_option("#trace-outcome", "block")
    page.click("#trace-filter button")
    page.wait_for_function("document.getElementById('status').textContent === '0 traces matching'")
    page.select_option("#trace-outcome", "allow")
    page.fill("#trace-text", "five working days")
    page.click("#trace-filter button")
    page.wait_for_function("document.getElementById('status').textContent.endsWith('matching')")
    assert page.locator("#trace-rows tr").count() >= 1
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


def test_prompt_versions_diff_and_release_differences(
    gateway: Gateway, browser: Browser, tmp_path: Path
) -> None:
    folder = tmp_path / "prompts"
    with Workspace.open(gateway.root) as ws:
        ws.prompts.push([write_prompt(folder, "console-p", simple_prompt("console-p"))])
        changed = simple_prompt("console-p", system="You help, briefly and kindly.")
        ws.prompts.push([write_prompt(folder, "console-p", changed)])
    page = _login(browser, gateway, "viewer", "prompts")
    page.wait_for_selector("#prompt-name option[value=console-p]", state="attached")
    page.select_option("#prompt-name", "console-p")
    page.wait_for_function("document.getElementById('prompt-versions').children.length === 2")
    page.wait_for_selector("#prompt-diff td.added")
    changed = page.locator("#prompt-diff tr", has=page.locator("td.added"))
    assert changed.count() == 1  # side by side: the old line beside the new one
    assert "content: You help." in (changed.locator("td.removed").text_content() or "")
    assert "briefly and kindly" in (changed.locator("td.added").text_content() or "")
    assert page.text_content("#prompt-diff-new") == "console-p@2"
    _screenshot(page, tmp_path, "prompts")
    page.click("#tabs button[data-tab=releases]")
    page.wait_for_selector("#release-rows tr")
    page.fill("#release-old", "bot@1")
    page.fill("#release-new", "bot@2")
    page.click("#release-compare")
    page.wait_for_selector("#release-diff tr")
    assert "max_tokens" in (page.text_content("#release-diff") or "")
    _screenshot(page, tmp_path, "releases")
    page.close()


def test_evaluation_runs_and_a_drift_check(
    gateway: Gateway, browser: Browser, tmp_path: Path
) -> None:
    with Workspace.open(gateway.root) as ws:
        run = ws.evals.run("bot@production", "qa", ["exact_match"]).run
        again = ws.evals.run("bot@production", "qa", ["exact_match"], reuse=False).run
    page = _login(browser, gateway, "viewer", "evals")
    page.wait_for_selector(f"#eval-rows a:text('{run.id[:12]}')")
    page.click(f"#eval-rows a:text('{run.id[:12]}')")
    page.wait_for_selector("#eval-summary-table:not([hidden])")
    summary = page.text_content("#eval-summary") or ""
    assert "exact_match" in summary and "1.000" in summary  # the scripted answer is the reference
    page.fill("#eval-baseline", run.id)
    page.fill("#eval-candidate", again.id)
    page.click("#eval-compare")
    page.wait_for_selector("#eval-comparison-table:not([hidden])")
    compared = page.text_content("#eval-comparison") or ""
    assert compared.startswith("exact_match") and "+0.000" in compared  # the same answers
    _screenshot(page, tmp_path, "evals")
    page.click("#tabs button[data-tab=drift]")
    page.wait_for_selector("#drift-deployment option[value='bot@production']", state="attached")
    page.select_option("#drift-deployment", "bot@production")
    page.fill("#drift-reference", f"eval:{run.id}")
    page.click("#drift-check")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('drifted:')")
    assert page.locator("#drift-rows tr").count() == 10
    assert "input_embedding" in (page.text_content("#drift-rows") or "")
    _screenshot(page, tmp_path, "drift")
    page.close()
