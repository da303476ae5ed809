"""The web page in real headless Chromium (Debian's `chromium`, driven by Playwright): a cited
answer, the emergency banner before the answer, a de-identified note. Saves a screenshot; with MEDLLM_UPDATE_SCREENSHOT=1 it refreshes docs/serve.png,
the one the README shows (by default the tree is left clean)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOT = Path(__file__).resolve().parents[2] / "docs" / "serve.png"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make install installs it)")


@pytest.fixture(scope="module")
def page(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.set_default_timeout(90_000)
        page.goto(served.url)
        page.fill("#key", served.key)
        page.dispatch_event("#key", "change")
        page.wait_for_selector("#strategy option", state="attached")
        yield page
        browser.close()


def ask(page, question: str):
    n = page.locator(".msg.bot").count()
    page.fill("#question", question)
    page.click("#send")
    box = page.locator(".msg.bot").nth(n)
    box.locator(".meta").wait_for()  # the final Answer record has been shown
    return box


def test_ask_shows_a_cited_answer_whose_citation_opens_its_passage(page):
    box = ask(page, "What is the first-line drug for type 2 diabetes?")
    assert box.locator(".answer").inner_text().strip()
    assert "confidence" in box.locator(".meta").inner_text()
    cite = box.locator("button.cite").first
    cite.wait_for()
    cite.click()
    dialog = page.locator("dialog#passage")
    assert dialog.is_visible()
    assert dialog.locator("#passage-text").inner_text().strip()
    assert "first-line drug for type 2 diabetes" in dialog.locator("#passage-text").inner_text()
    dialog.locator("button").click()


def test_emergency_banner_comes_first(page, tmp_path):
    box = ask(page, "I have crushing chest pain spreading to my left arm and I am sweating. What should I do?")
    first = box.locator(":scope > *").first
    assert "banner" in (first.get_attribute("class") or "")
    assert "Possible emergency" in first.inner_text()
    assert box.locator(".answer").inner_text().startswith("This may be a medical emergency")
    shot = SHOT if os.environ.get("MEDLLM_UPDATE_SCREENSHOT") == "1" else tmp_path / "serve.png"
    shot.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000  # a real rendered page, not a blank one


def test_deidentify_a_note(page):
    page.click("nav button[data-tab=deid]")
    page.fill("#deid-input", "Mr. John Smith (MRN 4482913) was seen on 03/14/2024; call him at 617-555-0134.")
    page.select_option("#deid-mode", "tag")
    page.click("#deid-run")
    page.wait_for_selector("#deid-marked mark")
    out = page.locator("#deid-output").inner_text()
    assert "John Smith" not in out and "<NAME>" in out and "4482913" not in out
    assert page.locator("#deid-marked mark").count() >= 3
    assert "NAME" in page.locator("#deid-counts").inner_text()
    page.click("nav button[data-tab=chat]")


def test_triage_shows_the_level_and_why(page):
    page.click("nav button[data-tab=triage]")
    page.fill("#triage-input", "She says her face is drooping on one side and her speech is slurred")
    page.click("#triage-run")
    page.wait_for_selector("#triage-result .level")
    assert "emergency" in page.locator("#triage-result .level").inner_text().lower()
    assert page.locator("#triage-result .reason").inner_text().strip()  # the decision's reason is shown
    # the present findings behind it and the red-flag rule they matched, as the decision record gives them
    assert page.locator("#triage-result table.findings tr").count() >= 2  # a header and a finding
    assert page.locator("#triage-result .rule").inner_text().startswith("Rule: ")
    page.click("nav button[data-tab=chat]")


def test_the_key_stays_in_this_tab_only_and_can_be_forgotten(page, served):
    assert page.evaluate("sessionStorage.getItem('medllm-key')") == served.key
    assert page.evaluate("localStorage.getItem('medllm-key')") is None
    page.click("#forget-key")
    assert page.evaluate("sessionStorage.getItem('medllm-key')") is None
    assert page.input_value("#key") == ""
