"""The dashboard in a real browser, over experiments that are running."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.dashboard_tests.conftest import CRAFTED_CHOICE, CRAFTED_NAME, start_dashboard, stop
from tunelab import analysis
from tunelab.storage import Storage


def _http(url: str, method: str = "GET", headers: dict[str, str] | None = None,
          body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _jobs(site, name):
    store = Storage(site.storage)
    try:
        return store.jobs(site.ids[name])
    finally:
        store.close()


def _column(page, key):
    index = page.locator("#jobs thead tr:first-child th").evaluate_all(
        f"(ths) => ths.findIndex((th) => th.dataset.col === {json.dumps(key)})")
    return page.locator(f"#jobs tbody tr td:nth-child({index + 1})").all_inner_texts()


def test_every_page_renders_with_its_plots(site, watched):
    page = watched.page
    page.goto(site.url)
    page.wait_for_selector("#experiments tbody tr[data-experiment]")
    assert page.locator("#experiments .exp-name").all_inner_texts().count(CRAFTED_NAME) == 1
    crafted = site.ids[CRAFTED_NAME]
    assert page.locator("#compare").is_disabled()
    for experiment in (crafted, site.ids["live"]):
        page.check(f"tr[data-experiment='{experiment}'] input[type=checkbox]")
    page.click("#compare")
    page.wait_for_selector("#compare-chart canvas")
    assert page.url.endswith(f"#/compare/{crafted},{site.ids['live']}")
    page.goto(f"{site.url}#/e/{crafted}")
    page.wait_for_selector("#jobs tbody tr[data-job]")
    assert page.locator("#best-value").inner_text() != "–"
    assert "no engine running" in page.locator("#header").inner_text()
    for kind in analysis.KINDS:
        page.click(f".tab[data-tab={kind}]")
        page.wait_for_selector(f"#plot-{kind} canvas")
    page.click(".tab[data-tab=jobs]")
    page.locator("#jobs tbody tr[data-job]").first.click()
    page.wait_for_selector("#job-curve canvas")
    assert page.locator("#job-stdout").inner_text().strip() == "stdout says <b>hello</b>"


def test_crafted_names_and_values_stay_text(site, watched):
    page = watched.page
    page.goto(f"{site.url}#/e/{site.ids[CRAFTED_NAME]}")
    page.wait_for_selector("#jobs tbody tr[data-job]")
    page.fill("input[data-filter='p:opt']", "script")
    page.wait_for_selector("#jobs tbody tr[data-job]")
    assert page.locator("#exp-name").inner_text() == CRAFTED_NAME
    assert set(_column(page, "p:opt")) == {CRAFTED_CHOICE}
    page.locator("#jobs tbody tr[data-job]").first.click()
    page.wait_for_selector("#job-title")
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x], #main script, #drawer script").count() == 0
    _, headers, _ = _http(site.url)
    assert headers["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self'; style-src 'self'")


def test_sorting_and_filtering_by_any_column(site, watched):
    page = watched.page
    page.goto(f"{site.url}#/e/{site.ids[CRAFTED_NAME]}")
    page.wait_for_selector("#jobs tbody tr[data-job]")
    jobs = _jobs(site, CRAFTED_NAME)
    values = sorted(j.value for j in jobs)
    page.click("th[data-col=value]")
    assert [float(v) for v in _column(page, "value")] == [float(f"{v:.6g}") for v in values]
    page.click("th[data-col=value]")
    assert [float(v) for v in _column(page, "value")] == [float(f"{v:.6g}") for v in values[::-1]]
    page.fill("input[data-filter='p:opt']", "sgd")
    assert set(_column(page, "p:opt")) == {"sgd"}
    assert len(_column(page, "p:opt")) == sum(j.config["opt"] == "sgd" for j in jobs)
    page.fill("input[data-filter='p:opt']", "")
    page.fill("input[data-filter=value]", "< 0.4")
    assert len(_column(page, "value")) == sum(j.value < 0.4 for j in jobs)
    page.fill("input[data-filter='x:loss']", ">= 0.05")
    assert all(float(v) >= 0.05 for v in _column(page, "x:loss"))


def test_a_finished_job_shows_up_live_within_two_seconds(site, watched):
    page = watched.page
    page.goto(f"{site.url}#/e/{site.ids['live']}")
    page.wait_for_selector("#jobs tbody tr[data-job]")
    page.click("th[data-col=number]")  # newest first: the running jobs are on the first page
    running = [j.id for j in _jobs(site, "live") if j.status == "running"]
    assert running
    selector = ", ".join(f"tr[data-job='{i}'][data-status=finished]" for i in running)
    page.wait_for_selector(selector, timeout=15_000)
    seen = time.time()
    shown = int(page.locator(selector).first.get_attribute("data-job"))
    ended = next(j.ended for j in _jobs(site, "live") if j.id == shown)
    assert seen - ended <= 2.0, f"job {shown} appeared {seen - ended:.2f}s after it ended"


def test_live_update_sends_only_what_changed(site):
    experiment = site.ids["live"]
    _, _, body = _http(f"{site.url}api/experiments/{experiment}/jobs")
    everything = json.loads(body)
    time.sleep(1.5)
    _, _, body = _http(f"{site.url}api/experiments/{experiment}/changes?after={everything['rev']}")
    update = json.loads(body)
    assert update["rev"] > everything["rev"]
    assert 0 < len(update["jobs"]) < len(everything["jobs"])
    assert all(j["id"] for j in update["jobs"]) and update["experiment"]["engine"] is True


def test_stop_a_job_then_the_experiment_from_the_page(site, watched):
    page = watched.page
    long = site.ids["long"]
    page.goto(f"{site.url}#/e/{long}")
    page.wait_for_selector("#jobs tbody tr[data-status=running]", timeout=30_000)
    target = page.locator("#jobs tbody tr[data-status=running]").first
    job = int(target.get_attribute("data-job"))
    target.click()
    page.click("#stop-job")
    expect(page.locator("#job-action-status")).to_have_text(f"engine: stopping job {job}", timeout=15_000)
    deadline = time.monotonic() + 20
    while next(j.status for j in _jobs(site, "long") if j.id == job) != "stopped" and time.monotonic() < deadline:
        time.sleep(0.2)
    stopped = next(j for j in _jobs(site, "long") if j.id == job)
    assert stopped.status == "stopped" and stopped.error == "stopped on request"
    page.keyboard.press("Escape")
    page.click("#stop-cancel")
    expect(page.locator("#action-status")).to_have_text(re.compile("^engine: cancelling"), timeout=15_000)
    site.runs["long"].wait(timeout=30)
    expect(page.locator("#header")).to_contain_text("no engine running", timeout=10_000)
    assert page.locator("#stop-drain").is_disabled() and page.locator("#stop-cancel").is_disabled()
    status, _, body = _http(f"{site.url}api/experiments/{long}/stop", "POST",
                            {"Content-Type": "application/json"}, b'{"mode": "drain"}')
    assert status == 409 and json.loads(body)["error"].startswith("no engine is running 'long'")


def test_score_a_passive_job_from_the_page(site, watched):
    page = watched.page
    page.goto(f"{site.url}#/e/{site.ids['by-hand']}")
    page.wait_for_selector("#jobs tbody tr[data-status=running]", timeout=30_000)
    target = page.locator("#jobs tbody tr[data-status=running]").first
    job = int(target.get_attribute("data-job"))
    target.click()
    page.fill("#score-value", "not a number")
    page.click("#score-job")
    expect(page.locator("#job-action-status")).to_have_text(re.compile("give a finite number"), timeout=15_000)
    page.fill("#score-value", "0.25")
    page.click("#score-job")
    expect(page.locator("#job-action-status")).to_have_text(f"engine: recorded 0.25 for job {job}", timeout=15_000)
    deadline = time.monotonic() + 20
    while next(j.status for j in _jobs(site, "by-hand") if j.id == job) != "finished" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert next(j for j in _jobs(site, "by-hand") if j.id == job).value == 0.25
    expect(page.locator("#score-job")).to_have_count(0, timeout=10_000)
    status, _, body = _http(f"{site.url}api/jobs/{job}/score", "POST", {"Content-Type": "application/json"},
                            b'{"value": "high"}')
    assert status == 400 and json.loads(body)["error"] == "value: 'high' is not a score; give a finite number, like 0.93"


def test_actions_need_a_json_post_and_the_host_must_be_ours(site):
    port = urlsplit(site.url).port
    status, _, _ = _http(f"{site.url}api/experiments/{site.ids['live']}/stop", "POST",
                         {"Content-Type": "text/plain"}, b"{}")
    assert status == 403
    status, _, _ = _http(f"{site.url}api/experiments", headers={"Host": f"attacker.example:{port}"})
    assert status == 421
    status, _, _ = _http(f"{site.url}static/../../etc/passwd")
    assert status == 404


def test_token_is_required_when_bound_beyond_loopback(site, watched):
    proc, url = start_dashboard(site.storage, "--host", "0.0.0.0")
    try:
        token = url.split("?token=")[1]
        base = f"http://127.0.0.1:{urlsplit(url).port}/"
        assert len(token) >= 24
        assert _http(f"{base}api/experiments")[0] == 401
        assert _http(f"{base}api/experiments", headers={"Authorization": "Bearer wrong"})[0] == 401
        assert _http(f"{base}api/experiments", headers={"Authorization": f"Bearer {token}"})[0] == 200
        assert _http(f"{base}?token=wrong")[0] == 401
        page = watched.page
        page.goto(f"{base}?token={token}")
        page.wait_for_selector("#experiments tbody tr[data-experiment]")
        assert "token" not in page.url
        page.goto("about:blank")  # the page polls: leave it before its server goes, or a poll is cut off
    finally:
        stop(proc)
