"""The review queues over HTTP: the REST routes by role, and the reviewer's page driven by the
keyboard in a real Chromium (Playwright with the Debian package's browser)."""

from __future__ import annotations

from playwright.sync_api import Browser, Page

from steerwise import Workspace
from steerwise.store.records import ReviewRow
from tests.server.conftest import Gateway

ANSWERS = ("Ten days.", "Refunds take a month.")


def _queue(gateway: Gateway, queue: str) -> list[int]:
    """Two items in `queue`, as `review fill` queues them; their ids, oldest first."""
    rows = [
        ReviewRow(
            "2026-12-01T00:00:00Z",
            "review.trace",
            "bot@production",
            "sampled 1",
            {"variables": {"question": f"Refunds {n}?"}, "output": answer},
            queue,
        )
        for n, answer in enumerate(ANSWERS)
    ]
    with Workspace.open(gateway.root) as ws:
        ws.reviews.enqueue(rows)
        return sorted(item.id for item in ws.reviews.items(queue=queue))


def test_the_review_routes_check_each_role(gateway: Gateway) -> None:
    first, _ = _queue(gateway, "rest")
    status, queues = gateway.call("GET", "/api/review/queues", "viewer")
    assert status == 200 and {"queue": "rest", "open": 2, "done": 0} in queues
    assert gateway.call("GET", "/api/review/queues/rest/next", "viewer")[0] == 403
    status, item = gateway.call("GET", "/api/review/queues/rest/next", "approver")
    assert status == 200 and item["id"] == first and item["payload"]["output"] == ANSWERS[0]
    verdict = {"verdict": "reject", "note": "too long"}
    assert gateway.call("POST", f"/api/review/items/{first}/verdicts", "viewer", verdict)[0] == 403
    status, saved = gateway.call("POST", f"/api/review/items/{first}/verdicts", "approver", verdict)
    assert status == 201 and saved["reviewer"].startswith("key:")
    status, again = gateway.call("POST", f"/api/review/items/{first}/verdicts", "approver", verdict)
    assert status == 400 and "is done, not open" in again["error"]["message"]
    wrong = {"verdict": "correct"}
    status, refused = gateway.call(
        "POST", f"/api/review/items/{first + 1}/verdicts", "approver", wrong
    )
    assert (
        status == 400
        and "a correction goes with the verdict 'correct'" in refused["error"]["message"]
    )
    status, stats = gateway.call("GET", "/api/review/stats?queue=rest", "viewer")
    assert status == 200 and stats["verdicts"] == {"reject": 1}


def _open(browser: Browser, gateway: Gateway, role: str, queue: str) -> Page:
    page = browser.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{gateway.url}/review?queue={queue}")
    page.fill("#key", gateway.keys[role])
    page.press("#key", "Enter")
    page.wait_for_selector("#item:not([hidden])")
    return page


def test_a_reviewer_works_a_queue_with_the_keyboard(gateway: Gateway, browser: Browser) -> None:
    first, second = _queue(gateway, "web")
    page = _open(browser, gateway, "approver", "web")
    assert page.text_content("#question") == "Refunds 0?"
    assert page.text_content("#answer") == ANSWERS[0]
    page.keyboard.press("a")  # saved, then the next item comes up
    page.wait_for_function(f"document.getElementById('item-id').textContent === '{second}'")
    page.keyboard.press("c")
    page.fill("#correction", "Refunds take five working days.")
    page.press("#correction", "Control+Enter")
    page.wait_for_function(
        "document.getElementById('status').textContent === 'nothing left to review in web'"
    )
    page.close()
    with Workspace.open(gateway.root) as ws:
        given = [(v.item_id, v.verdict, v.correction) for v in ws.reviews.verdicts(queue="web")]
    assert given == [
        (first, "approve", None),
        (second, "correct", "Refunds take five working days."),
    ]


def test_a_viewer_sees_why_they_may_not_review(gateway: Gateway, browser: Browser) -> None:
    _queue(gateway, "viewers")
    page = browser.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{gateway.url}/review?queue=viewers")
    page.fill("#key", gateway.keys["viewer"])
    page.press("#key", "Enter")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('403')")
    assert "403 role 'viewer' may not" in (page.text_content("#status") or "")
    assert page.get_attribute("#status", "class") == "error"
    page.close()
