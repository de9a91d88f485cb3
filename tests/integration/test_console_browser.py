"""The console in a real browser: Debian's headless Chromium, driven through chromedriver by
Selenium, against the local stack — signing in, a dry run with errors, an import followed to
its end, finding a patient and changing it, and what a staff token sees.

Skipped only on a developer's machine without chromium; under CI (``CI`` set) a missing
browser fails, so the console is always tested where it lands.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fixtures_builders import mif_csv, sample_mif_row
from stack_fixture import ADMIN_TOKEN, STAFF_TOKEN, RunningStack, data_uri, patients_by_member

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.expected_conditions import staleness_of  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
ECM = "/v1/admin/clinic/ecm"
#: Member numbers no other test file uses (the stack is shared per worker).
BASE = 740_000  # members of its own: other files share the session stack


def _missing_browser() -> None:
    message = "Debian's chromium and chromium-driver are needed (apt-get install chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not BROWSER or not DRIVER:
        _missing_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = str(BROWSER)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1366,900",  # a laptop screen
        "--no-proxy-server",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser: Any, stack: RunningStack) -> Iterator[Any]:
    """A fresh tab state: the console opened and nobody signed in."""
    browser.get("about:blank")
    browser.get(stack.api + "/console/")
    browser.execute_script("sessionStorage.clear()")
    browser.refresh()
    wait_until(browser, lambda d: d.find_element(By.NAME, "token"))
    yield browser
    messages = [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and "favicon" not in entry["message"]
    ]
    browser.execute_script("sessionStorage.clear()")
    # A 4xx the console handles is logged by Chromium as a failed resource; a script error is not.
    assert not [m for m in messages if "Uncaught" in m or "SyntaxError" in m], messages


#: `make screenshots` sets this: the tests then save what they see for docs/using/console.md.
SCREENSHOTS = os.environ.get("ECM_SCREENSHOTS")


def screenshot(driver: Any, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SCREENSHOTS) / f"{name}.png"))


def wait_until(driver: Any, check: Callable[[Any], Any], timeout: float = 60) -> Any:
    try:
        # The page re-renders as it loads: a table or element may be missing or stale between polls.
        ignored = (AssertionError, NoSuchElementException, StaleElementReferenceException)
        wait = WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=ignored)
        return wait.until(check)
    except TimeoutException:
        page = driver.find_element(By.TAG_NAME, "main").text
        state = driver.execute_script("return [document.readyState, location.href]")
        logs = [entry["message"] for entry in driver.get_log("browser")]
        raise AssertionError(
            f"timed out at {state}; the page says:\n{page}\nbrowser log: {logs}"
        ) from None


def wait_text(driver: Any, text: str, timeout: float = 60) -> None:
    wait_until(driver, lambda d: text in d.find_element(By.TAG_NAME, "main").text, timeout)


def sign_in(driver: Any, token: str) -> None:
    box = wait_until(driver, lambda d: d.find_element(By.NAME, "token"))
    box.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_until(driver, lambda d: d.find_element(By.ID, "nav").is_displayed())


def table_rows(driver: Any, caption: str) -> list[list[str]]:
    """The cells of the table with this caption; [] where the page says there is nothing yet."""
    for table in driver.find_elements(By.TAG_NAME, "table"):
        if table.find_element(By.TAG_NAME, "caption").text.startswith(caption):
            return [
                [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
                for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")
            ]
    for empty in driver.find_elements(By.CSS_SELECTOR, "p.empty[data-table]"):
        if empty.get_attribute("data-table").startswith(caption):
            return []
    raise AssertionError(f"no table {caption!r}")


def button(driver: Any, text: str) -> WebElement:
    return wait_until(
        driver,
        lambda d: next(
            (
                b
                for b in d.find_elements(By.TAG_NAME, "button")
                if b.text == text and b.is_enabled()
            ),
            None,
        ),
    )


def field_control(driver: Any, label: str) -> WebElement:
    """The control a visible <label> names (as a screen reader finds it)."""
    for element in driver.find_elements(By.TAG_NAME, "label"):
        if element.text == label and element.get_attribute("for"):
            return driver.find_element(By.ID, element.get_attribute("for"))
    raise AssertionError(f"no field labelled {label!r}")


def unlabelled_controls(driver: Any) -> list[str]:
    return list(
        driver.execute_script(
            """return [...document.querySelectorAll('input, select, textarea')]
                 .filter((c) => c.type !== 'hidden' && c.type !== 'radio')
                 .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label'))
                 .map((c) => c.name || c.outerHTML);"""
        )
    )


def record_progress(driver: Any) -> None:
    """Keep every text the progress line shows, however briefly."""
    driver.execute_script(
        """window.progressSeen = [];
           new MutationObserver(() => {
             const line = document.querySelector('.progress p');
             const bar = document.querySelector('.progress progress');
             if (line) window.progressSeen.push([line.textContent, bar && bar.max, bar && bar.value]);
           }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});"""
    )


def choose_file(driver: Any, path: Path) -> None:
    driver.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(path))
    button(driver, "Check the file").click()


def test_a_wrong_token_is_refused_and_the_token_never_reaches_the_url(page: Any) -> None:
    page.find_element(By.NAME, "token").send_keys("not-a-real-token-000000000000")
    page.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_text(page, "This token was not accepted.")
    assert page.execute_script("return sessionStorage.length") == 0

    page.find_element(By.NAME, "token").clear()
    sign_in(page, ADMIN_TOKEN)
    wait_text(page, "Import a file")
    assert page.find_element(By.ID, "who-name").text == "Signed in as an administrator"
    assert ADMIN_TOKEN not in page.current_url
    assert unlabelled_controls(page) == []


def test_dry_run_lists_every_error_then_imports_the_valid_rows(
    page: Any, stack: RunningStack, tmp_path: Path
) -> None:
    rows = [sample_mif_row(i) for i in range(BASE, BASE + 5)]
    rows[1]["DOB"] = "13/45/1990"
    rows[3]["MEMBER_ID"] = ""
    path = tmp_path / "two bad rows.csv"
    path.write_bytes(mif_csv(rows))
    sign_in(page, ADMIN_TOKEN)
    choose_file(page, path)

    wait_text(page, "Dry run: what this file would do")
    assert table_rows(page, "Rows with errors") == [
        ["3", "DOB", "13/45/1990", "is not a valid MM-DD-YYYY date"],
        ["5", "Member ID", "", "can't be blank"],
    ]
    facts = page.find_element(By.CSS_SELECTOR, "section .facts").text
    assert "Would create\n3" in facts and "Rows with errors\n2" in facts
    assert rows[0]["MEMBER_ID"] not in patients_by_member(stack)  # a dry run writes nothing
    screenshot(page, "dry-run")

    record_progress(page)
    button(page, "Import the 3 valid rows").click()
    wait_text(page, "Import finished")
    assert "Imported: 3 created, 0 updated." in page.find_element(By.TAG_NAME, "main").text
    screenshot(page, "imported")
    seen = page.execute_script("return window.progressSeen")
    assert any(text.endswith("of 5 rows") for text, _, _ in seen), seen
    links = {
        a.text: a.get_attribute("href") for a in page.find_elements(By.CSS_SELECTOR, ".links a")
    }
    assert set(links) >= {"Result file (every row and what happened to it)", "Errors file"}
    result = requests.get(links["Result file (every row and what happened to it)"], timeout=30)
    assert result.status_code == 200 and result.text.count("created") == 3

    stored = patients_by_member(stack)
    assert [r["MEMBER_ID"] in stored for r in rows] == [True, False, True, False, True]


def test_a_valid_file_imports_all_or_nothing_with_progress_to_the_end(
    page: Any, stack: RunningStack, tmp_path: Path
) -> None:
    rows = [sample_mif_row(i) for i in range(BASE + 10, BASE + 13)]
    path = tmp_path / "members.csv"
    path.write_bytes(mif_csv(rows))
    sign_in(page, ADMIN_TOKEN)
    choose_file(page, path)
    wait_text(page, "Every row is valid.")
    record_progress(page)
    button(page, "Import").click()
    wait_text(page, "Import finished")
    seen = page.execute_script("return window.progressSeen")
    assert seen[-1] == ["done: 3 of 3 rows", 3, 3], seen

    page.find_element(By.CSS_SELECTOR, "[data-nav=files]").click()
    wait_text(page, "Member Information Files")
    history = table_rows(page, "Member Information Files")
    screenshot(page, "files")
    newest = history[0]
    # The file's own name, then the one the API gives it (mif_<timestamp>.csv, as the API
    # documents name them).
    assert re.fullmatch(r"members\.csv \(mif_\d{8}_\d{6}\.csv\)", newest[1]), newest[1]
    assert newest[3] == "Completed"
    assert newest[4:8] == ["3", "3", "0", "0"]
    assert all(r["MEMBER_ID"] in patients_by_member(stack) for r in rows)


def test_find_a_patient_change_acuity_and_status_assign_and_record_an_activity(
    page: Any, stack: RunningStack
) -> None:
    row = sample_mif_row(BASE + 20)
    response = requests.post(
        stack.api + ECM + "/mifs",
        json={"mif": {"file": data_uri(mif_csv([row]), "csv")}},
        headers=stack.headers(),
        timeout=60,
    )
    assert response.status_code == 201, response.text
    provider = requests.post(
        stack.api + ECM + "/providers",
        json={"provider": {"name": "Console Test Clinic", "npi": None}},
        headers=stack.headers(),
        timeout=30,
    )
    assert provider.status_code in (201, 409), provider.text
    sign_in(page, ADMIN_TOKEN)
    page.find_element(By.CSS_SELECTOR, "[data-nav=patients]").click()
    search = wait_until(page, lambda d: d.find_element(By.NAME, "search"))
    search.send_keys(row["LAST_NAME"])
    button(page, "Search").click()
    wait_text(page, "1 patients found.")
    screenshot(page, "patients")
    assert unlabelled_controls(page) == []
    page.find_element(By.LINK_TEXT, f"{row['FIRST_NAME']} {row['LAST_NAME']}").click()
    wait_text(page, "Change status and enrollment")
    patient_id = int(page.current_url.rsplit("/", 1)[1])
    assert page.current_url.endswith(f"#/patients/{patient_id}")  # an internal id, no PHI
    before = len(table_rows(page, "Status history"))

    Select(field_control(page, "Acuity")).select_by_value("high")
    Select(field_control(page, "Member status")).select_by_value("continuing_member")
    button(page, "Save").click()
    wait_until(page, lambda d: len(table_rows(d, "Status history")) == before + 1)
    assert table_rows(page, "Status history")[0][0] == "Continuing member"
    stored = requests.get(
        f"{stack.api}{ECM}/patients/{patient_id}", headers=stack.headers(), timeout=30
    )
    eligibility = stored.json()["patient"]["ecm_eligibility_information"]
    assert (eligibility["acuity_level"], eligibility["member_record_status"]) == (
        "high",
        "continuing_member",
    )

    Select(field_control(page, "Provider")).select_by_visible_text("Console Test Clinic")
    assign = button(page, "Assign")
    assign.click()
    wait_until(page, staleness_of(assign))  # the page reloads the patient once it is saved
    wait_until(
        page,
        lambda d: (
            Select(field_control(d, "Provider")).first_selected_option.text == "Console Test Clinic"
        ),
    )
    stored = requests.get(
        f"{stack.api}{ECM}/patients/{patient_id}", headers=stack.headers(), timeout=30
    )
    assert stored.json()["patient"]["case_load"]["provider_name"] == "Console Test Clinic"

    minutes = field_control(page, "Minutes")
    minutes.send_keys("5000")
    Select(field_control(page, "Method")).select_by_value("phone")
    button(page, "Record").click()
    message = wait_until(
        page,
        lambda d: next(
            (e for e in d.find_elements(By.CSS_SELECTOR, ".field-error") if e.is_displayed()), None
        ),
    )
    assert message.text.startswith("activity.minutes")
    assert minutes.get_attribute("aria-invalid") == "true"
    assert message.get_attribute("id") in minutes.get_attribute("aria-describedby").split()
    minutes.clear()
    minutes.send_keys("25")
    button(page, "Record").click()
    wait_until(page, lambda d: table_rows(d, "Activities"))
    assert table_rows(page, "Activities")[0][1:6] == ["Outreach", "Phone", "", "", "25"]
    screenshot(page, "patient")


def test_a_staff_token_sees_plainly_what_it_may_not_see(page: Any) -> None:
    sign_in_box = page.find_element(By.NAME, "token")
    sign_in_box.send_keys(STAFF_TOKEN)
    page.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_text(page, "What your role may do")
    assert page.find_element(By.ID, "who-name").text == "Signed in (not an administrator)"
    assert not page.find_element(By.ID, "nav").is_displayed()  # no page it could not use
    page.find_element(By.ID, "sign-out").click()
    wait_until(page, lambda d: d.find_element(By.NAME, "token"))
    assert page.execute_script("return sessionStorage.length") == 0


def test_the_keyboard_reaches_sign_in_and_the_skip_link(page: Any) -> None:
    active = page.switch_to.active_element
    assert active.get_attribute("name") == "token"  # focus starts in the token field
    active.send_keys(Keys.SHIFT, Keys.TAB)  # back: the only thing before it is the skip link
    skip = page.switch_to.active_element
    assert skip.text == "Skip to content" and skip.is_displayed()
    skip.send_keys(Keys.ENTER)
    assert page.switch_to.active_element.get_attribute("id") == "main"
    assert page.current_url.endswith("/console/")  # the skip link adds nothing to the URL
