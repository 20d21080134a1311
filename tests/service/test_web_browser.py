"""The web app in a real browser: headless Chromium (Debian's chromium and chromium-driver, which
scripts/setup.sh installs) driven by Selenium against `rag serve` on 127.0.0.1, over the demo
corpus ingested into a fresh data dir, answered by the real model. Screenshots of each step go
to RAG_WEB_SCREENSHOTS (e.g. docs/screenshots), else to a pytest temporary folder."""

import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
webdriver = pytest.importorskip("selenium.webdriver")

from selenium.webdriver.chrome.service import Service as ChromeService  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from tests.service.live_server import QUESTION, demo_server  # noqa: E402

ANSWER_WAIT = 300  # seconds: the real model on 2 cores, maybe after converting its weights


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`rag serve` over data/demo in a fresh data dir: (base URL, {role: key})."""
    roles = {role: role for role in ("user", "reader", "admin")}
    with demo_server(tmp_path_factory.mktemp("web") / "data", roles, "web") as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.skip("needs chromium and chromedriver (scripts/setup.sh installs them when run as root)")
    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=ChromeService(executable_path=driver_path), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("RAG_WEB_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_with_key(browser, base_url: str, key: str) -> None:
    """A fresh tab state: the Ask page with ``key`` typed into the key field."""
    browser.get(base_url)
    browser.execute_script("sessionStorage.clear()")
    browser.refresh()
    field = browser.find_element(By.NAME, "api_key")
    field.clear()
    field.send_keys(key)


def ask(browser, question: str) -> None:
    """Ask ``question``, counting the changes of the answer while it streams (window.streamed)."""
    browser.execute_script(
        "window.streamed = 0; new MutationObserver(() => {"
        " if (document.querySelector('#answer .streaming')?.textContent) window.streamed += 1;"
        "}).observe(document.getElementById('answer'), {childList: true, subtree: true, characterData: true});"
    )
    query = browser.find_element(By.CSS_SELECTOR, "form#ask [name=query]")
    query.send_keys(question)
    browser.find_element(By.CSS_SELECTOR, "form#ask [type=submit]").click()


def wait(browser, seconds: float = 30) -> WebDriverWait:
    return WebDriverWait(browser, seconds)


def rate(browser, score: int, comment: str) -> None:
    """Rate the current answer ``score`` with ``comment`` and wait for the thanks."""
    browser.find_element(By.CSS_SELECTOR, f"form#feedback input[name=score][value='{score}']").click()
    browser.find_element(By.CSS_SELECTOR, "form#feedback textarea[name=comment]").send_keys(comment)
    browser.find_element(By.CSS_SELECTOR, "form#feedback [type=submit]").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "feedback-status"), "Thanks"))


def test_a_user_asks_sees_the_answer_stream_opens_a_citation_and_rates_it(served, browser, screenshots):
    base_url, keys = served
    open_with_key(browser, base_url, keys["user"])
    wait(browser).until(EC.visibility_of_element_located((By.ID, "ask")))
    ask(browser, QUESTION)
    citation = wait(browser, ANSWER_WAIT).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#answer a.citation")))
    assert browser.execute_script("return window.streamed") >= 2, "the answer arrived in one piece"
    assert citation.text.startswith("[") and citation.text.endswith("]")
    browser.save_screenshot(str(screenshots / "ask-answer.png"))

    citation.click()
    mark = wait(browser).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#passage mark")))
    assert len(mark.text) > 20
    assert "demo" in browser.find_element(By.CSS_SELECTOR, "#passage .source-facts").text
    browser.save_screenshot(str(screenshots / "ask-passage.png"))

    rate(browser, 4, "Clear and cited.")
    browser.save_screenshot(str(screenshots / "ask-rated.png"))


def test_a_follow_up_continues_the_session_as_a_thread(served, browser, screenshots):
    base_url, keys = served
    open_with_key(browser, base_url, keys["user"])
    wait(browser).until(EC.visibility_of_element_located((By.ID, "ask")))
    for question in (QUESTION, "And how are the two rankings fused?"):
        ask(browser, question)
        wait(browser, ANSWER_WAIT).until(
            lambda b: (
                b.find_elements(By.CSS_SELECTOR, "#answer .answer-text:not(.streaming)")
                and b.find_element(By.ID, "ask-submit").is_enabled()
            )
        )
    assert len(browser.find_elements(By.CSS_SELECTOR, "#thread > li")) == 1
    assert "fused" in browser.find_element(By.CSS_SELECTOR, "#answer .question").text
    browser.save_screenshot(str(screenshots / "ask-thread.png"))


def test_a_reader_key_is_not_offered_ask_and_the_key_stays_for_the_tab(served, browser, screenshots):
    base_url, keys = served
    open_with_key(browser, base_url, keys["reader"])
    reader_notice = EC.text_to_be_present_in_element((By.ID, "ask-unavailable"), "A reader key may not ask")
    wait(browser).until(reader_notice)
    assert browser.find_element(By.ID, "ask-unavailable").is_displayed()
    assert not browser.find_element(By.ID, "ask").is_displayed()
    browser.refresh()
    assert browser.find_element(By.NAME, "api_key").get_attribute("value") == keys["reader"]
    wait(browser).until(reader_notice)
    browser.save_screenshot(str(screenshots / "reader.png"))


def test_a_bad_key_gets_a_readable_message(served, browser, screenshots):
    base_url, _ = served
    open_with_key(browser, base_url, "rag_not-a-key")
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "key-status"), "Key not accepted"))
    status = browser.find_element(By.ID, "key-status").text
    assert "{" not in status and "Traceback" not in status
    assert not browser.find_element(By.ID, "ask").is_displayed()
    browser.save_screenshot(str(screenshots / "bad-key.png"))


def test_the_page_fits_a_narrow_window(served, browser, screenshots):
    base_url, keys = served
    browser.set_window_size(390, 844)
    try:
        open_with_key(browser, base_url, keys["user"])
        wait(browser).until(EC.visibility_of_element_located((By.ID, "ask")))
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        browser.save_screenshot(str(screenshots / "narrow.png"))
    finally:
        browser.set_window_size(1280, 900)


def test_search_shows_both_scores_opens_a_result_and_explains_a_bad_filter(served, browser, screenshots):
    base_url, keys = served
    open_with_key(browser, f"{base_url}/web/search", keys["reader"])
    form = wait(browser).until(EC.visibility_of_element_located((By.ID, "search")))
    assert not browser.find_element(By.CSS_SELECTOR, "nav a[href='/']").is_displayed()
    form.find_element(By.NAME, "query").send_keys("reciprocal rank fusion")
    form.find_element(By.CSS_SELECTOR, "#search-mode option[value='bm25']").click()
    form.find_element(By.CSS_SELECTOR, "[type=submit]").click()
    first = wait(browser).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#results > li")))
    scores = first.find_element(By.CSS_SELECTOR, ".scores").text
    assert scores.startswith("bm25 ") and "dense" in scores
    first.find_element(By.CSS_SELECTOR, "button.open-passage").click()
    wait(browser).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#passage mark")))
    browser.save_screenshot(str(screenshots / "search.png"))

    form.find_element(By.NAME, "metadata").send_keys("lang")
    form.find_element(By.CSS_SELECTOR, "[type=submit]").click()
    error = wait(browser).until(EC.visibility_of_element_located((By.ID, "search-error")))
    assert "key=value" in error.text and "{" not in error.text


def test_a_rated_answer_shows_in_the_logs_for_an_admin_who_replays_it(served, browser, screenshots):
    base_url, keys = served
    open_with_key(browser, base_url, keys["user"])
    wait(browser).until(EC.visibility_of_element_located((By.ID, "ask")))
    ask(browser, QUESTION)
    wait(browser, ANSWER_WAIT).until(EC.visibility_of_element_located((By.ID, "feedback")))
    rate(browser, 2, "Too vague for me.")
    open_with_key(browser, f"{base_url}/web/logs", keys["user"])
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "logs-unavailable"), "may not read the logs"))

    open_with_key(browser, f"{base_url}/web/logs", keys["admin"])
    filters = wait(browser).until(EC.visibility_of_element_located((By.ID, "log-filters")))
    filters.find_element(By.CSS_SELECTOR, "#filter-rating option[value='2']").click()
    filters.find_element(By.CSS_SELECTOR, "[type=submit]").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "logs-status"), "1 exchanges"))
    row = browser.find_element(By.CSS_SELECTOR, "#logs tbody tr")
    assert "2 (mean 2.0)" in row.text and QUESTION[:40] in row.text
    browser.save_screenshot(str(screenshots / "logs.png"))
    row.find_element(By.CSS_SELECTOR, "a").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "log-feedback"), "2 of 5: Too vague for me."))
    assert browser.find_elements(By.CSS_SELECTOR, "#log-passages tbody tr")
    assert browser.find_element(By.ID, "log-prompt").text
    browser.find_element(By.ID, "replay").click()
    verdict = wait(browser, 2 * ANSWER_WAIT).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "#replay-result .verdict"))
    )
    assert "recorded run" in verdict.text and not browser.find_element(By.ID, "replay-error").is_displayed()
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", verdict)
    browser.save_screenshot(str(screenshots / "logs-replay.png"))


def test_sources_lead_from_collections_to_a_source_with_its_chunks(served, browser, screenshots):
    base_url, keys = served
    open_with_key(browser, f"{base_url}/web/sources", keys["reader"])
    demo = wait(browser).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#collections a")))
    assert demo.text == "demo"
    demo.click()
    search = wait(browser).until(EC.visibility_of_element_located((By.ID, "source-search")))
    search.find_element(By.NAME, "q").send_keys("chunking")
    search.find_element(By.CSS_SELECTOR, "[type=submit]").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "sources-status"), "matching"))
    source = browser.find_element(By.CSS_SELECTOR, "#sources tbody a")
    assert "chunking" in source.text
    source.click()
    wait(browser).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#source-text .chunk")))
    assert browser.find_elements(By.CSS_SELECTOR, "#chunks tbody tr")
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    browser.save_screenshot(str(screenshots / "sources.png"))


def test_models_show_the_served_model_and_its_policy(served, browser, screenshots):
    base_url, keys = served
    open_with_key(browser, f"{base_url}/web/models", keys["reader"])
    wait(browser).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#models tr.current")))
    assert "Model " in browser.find_element(By.ID, "served").text
    assert "decoding" in browser.find_element(By.ID, "policy").text
    browser.save_screenshot(str(screenshots / "models.png"))
