"""A month's work in the console, without the API: what the return files need edited on the
patient page (with "Saved" where the change was made), a bulk change from the list, the
providers and care managers, a plan's return file followed to its end, what a staff token
sees, and an axe-core audit (WCAG 2.1 A/AA) of every page at a laptop's and a phone's width.

axe-core comes from npm (package-lock.json, `make axe`); its file is injected into the page
by the test, so the browser loads nothing but the console from the loopback stack.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import test_console_browser as shared
from fixtures_builders import mif_csv, sample_mif_row
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from stack_fixture import (
    ADMIN_TOKEN,
    STAFF_TOKEN,
    RunningStack,
    data_uri,
    patients_by_member,
    post_mif,
    wait_for_file,
)
from test_console_browser import (
    ECM,
    button,
    field_control,
    screenshot,
    sign_in,
    table_rows,
    unlabelled_controls,
    wait_text,
    wait_until,
)

#: Member numbers no other test file uses (the stack is shared per worker).
BASE = 750_000  # members of its own: the browser files share the session stack
PLAN = "console-plan"
PERIOD = "2026-11"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = (1366, 390)  # a laptop, a phone
#: The browser (one per module) and a fresh, signed-out tab, as the console's first tests use them.
browser = shared.browser
page = shared.page


def api(stack: RunningStack, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(
        method, f"{stack.api}{ECM}{path}", json=body, headers=stack.headers(), timeout=60
    )
    assert response.ok, response.text
    return response.json()


@pytest.fixture(scope="module")
def members(stack: RunningStack) -> list[int]:
    """Nine members of one plan, imported through the API, and the plan's record."""
    rows = [sample_mif_row(BASE + i) for i in range(9)]
    answer = post_mif(stack, {"file": data_uri(mif_csv(rows), "csv"), "plan": PLAN})
    assert answer.status_code in (201, 202), answer.text
    assert wait_for_file(stack, answer.json()["mif_file_id"])["status"] == "completed"
    api(
        stack,
        "PUT",
        f"/plans/{PLAN}",
        {"plan": {"name": "Console Plan", "mcp_name": "Console Health", "mcp_identifier": "CH01"}},
    )
    stored = patients_by_member(stack)
    return [int(stored[row["MEMBER_ID"]]["id"]) for row in rows]


def eligibility(stack: RunningStack, patient_id: int) -> dict[str, Any]:
    return dict(
        api(stack, "GET", f"/patients/{patient_id}")["patient"]["ecm_eligibility_information"]
    )


def set_value(driver: Any, control: Any, value: str) -> None:
    """A date, month or datetime input's value, as a picker would set it."""
    driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        control,
        value,
    )


def saved_in(driver: Any, form_key: str) -> str:
    """The success message of the form with this key; it must hold the focus too."""
    form = driver.find_element(By.CSS_SELECTOR, f'form[data-form="{form_key}"]')
    message = form.find_element(By.CSS_SELECTOR, ".notice-success").text
    active = driver.switch_to.active_element
    assert form.find_element(By.CSS_SELECTOR, "button[type=submit]") == active
    return str(message)


def open_patient(driver: Any, patient_id: int) -> None:
    driver.execute_script("location.hash = arguments[0]", f"#/patients/{patient_id}")
    wait_text(driver, "Change status and enrollment")
    heading = driver.find_element(By.TAG_NAME, "h1")
    assert driver.switch_to.active_element == heading  # focus on the page, not the body


def test_the_patient_page_saves_enrollment_and_asks_why_a_member_is_terminated(
    page: Any, stack: RunningStack, members: list[int]
) -> None:
    patient_id = members[0]
    sign_in(page, ADMIN_TOKEN)
    open_patient(page, patient_id)
    assert not page.find_element(By.CSS_SELECTOR, "fieldset.ending").is_displayed()
    set_value(page, field_control(page, "Enrollment start"), "2026-11-02")
    button(page, "Save").click()
    wait_until(page, lambda d: saved_in(d, "eligibility") == "Saved")
    assert eligibility(stack, patient_id)["ecm_enrollment_start_date"] == "2026-11-02"
    facts = "\n".join(f.text for f in page.find_elements(By.CSS_SELECTOR, ".facts"))
    assert "Enrollment start\n2026-11-02" in facts

    Select(field_control(page, "Member status")).select_by_value("terminated_member")
    reason = field_control(page, "Reason")
    assert reason.is_displayed()
    button(page, "Save").click()  # no reason: refused here, before the API
    wait_until(page, lambda d: reason.get_attribute("aria-invalid") == "true")
    message = page.find_element(By.ID, reason.get_attribute("aria-describedby").split()[-1])
    assert "discontinuation_reason is needed" in message.text
    assert page.switch_to.active_element == reason
    assert eligibility(stack, patient_id)["member_record_status"] != "terminated_member"

    Select(reason).select_by_value("declined")
    set_value(page, field_control(page, "Date"), "2026-11-20")
    set_value(page, field_control(page, "Enrollment end"), "2026-11-20")
    button(page, "Save").click()
    wait_until(page, lambda d: saved_in(d, "eligibility") == "Saved")
    stored = eligibility(stack, patient_id)
    assert {k: stored[k] for k in ("member_record_status", "discontinuation_reason")} == {
        "member_record_status": "terminated_member",
        "discontinuation_reason": "declined",
    }
    assert (stored["discontinuation_date"], stored["ecm_enrollment_end_date"]) == (
        "2026-11-20",
        "2026-11-20",
    )
    history = table_rows(page, "Status history")[0]
    assert history[:2] == [
        "Terminated member",
        "Member declined or no longer wishes to receive ECM",
    ]


def test_an_outreach_attempt_is_recorded_successful_without_losing_the_place(
    page: Any, stack: RunningStack, members: list[int]
) -> None:
    patient_id = members[1]
    sign_in(page, ADMIN_TOKEN)
    open_patient(page, patient_id)
    record = button(page, "Record")
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", record)
    before = page.execute_script("return window.scrollY")
    assert before > 0
    Select(field_control(page, "Method")).select_by_value("phone")
    Select(field_control(page, "Successful")).select_by_value("true")
    set_value(page, field_control(page, "When"), "2026-11-10T10:00")
    record.click()
    wait_until(page, lambda d: saved_in(d, "activity") == "Activity recorded")
    assert table_rows(page, "Activities")[0][1:4] == ["Outreach", "Phone", "Yes"]
    assert abs(page.execute_script("return window.scrollY") - before) < 5  # no jump to the top
    activities = api(stack, "GET", f"/patients/{patient_id}/activities")["activities"]
    assert [(a["type"], a["method"], a["successful"]) for a in activities] == [
        ("outreach", "phone", True)
    ]
    screenshot(page, "patient-return-data")


def test_the_list_applies_one_change_to_the_selected_patients(
    page: Any, stack: RunningStack, members: list[int]
) -> None:
    chosen, left = members[2:4], members[4]
    sign_in(page, ADMIN_TOKEN)
    page.find_element(By.CSS_SELECTOR, "[data-nav=patients]").click()
    search = wait_until(page, lambda d: d.find_element(By.NAME, "search"))
    for patient_id in chosen:  # the selection is kept from one search to the next
        name = api(stack, "GET", f"/patients/{patient_id}")["patient"]["name"]
        search.clear()
        search.send_keys(name.split()[-1])
        button(page, "Search").click()
        tick = f"input[name=selected][value='{patient_id}']"
        box = wait_until(
            page,
            lambda d, tick=tick: d.find_element(By.CSS_SELECTOR, tick),
        )
        assert box.get_attribute("aria-label") == f"Select {name}"
        box.click()
    wait_text(page, "2 patients selected.")
    Select(field_control(page, "New status")).select_by_value("continuing_member")
    set_value(page, field_control(page, "Enrollment start"), "2026-11-01")
    button(page, "Apply to the selected patients").click()
    wait_until(page, lambda d: saved_in(d, "bulk") == "Saved: 2 patients updated.")
    screenshot(page, "patients-bulk")
    for patient_id in chosen:
        stored = eligibility(stack, patient_id)
        assert (stored["member_record_status"], stored["ecm_enrollment_start_date"]) == (
            "continuing_member",
            "2026-11-01",
        )
    assert eligibility(stack, left).get("ecm_enrollment_start_date") is None
    wait_text(page, "0 patients selected.")


def referral(stack: RunningStack, patient_id: int) -> dict[str, Any]:
    return dict(eligibility(stack, patient_id)["referral"])


def test_the_referral_is_closed_with_its_reason_on_the_patient_page(
    page: Any, stack: RunningStack, members: list[int]
) -> None:
    patient_id = members[6]
    before = referral(stack, patient_id)
    assert before["status"] == "received"
    sign_in(page, ADMIN_TOKEN)
    open_patient(page, patient_id)
    card = page.find_element(By.CSS_SELECTOR, "section[aria-labelledby=referral-title]")
    assert f"Received\n{before['received_date']} (from " in card.text
    hidden = page.find_element(
        By.CSS_SELECTOR, "form[data-form=referral] select[name=closure_reason]"
    )
    assert not hidden.is_displayed()  # offered only with a status that closes the loop
    status = Select(field_control(page, "Referral status"))
    assert [o.text for o in status.options] == [
        "Choose a status",
        "Received",
        "Accepted",
        "Declined",
        "Closed",
    ]
    status.select_by_value("closed")
    reason = field_control(page, "Closure reason")
    assert reason == hidden and reason.is_displayed()
    button(page, "Save the referral").click()  # no reason: refused here, before the API
    wait_until(page, lambda d: reason.get_attribute("aria-invalid") == "true")
    assert page.switch_to.active_element == reason
    assert referral(stack, patient_id)["status"] == "received"

    Select(reason).select_by_value("unable_to_reach")
    set_value(page, field_control(page, "Status date"), before["received_date"])
    button(page, "Save the referral").click()
    wait_until(page, lambda d: saved_in(d, "referral") == "Referral saved")
    stored = referral(stack, patient_id)
    assert (stored["status"], stored["status_date"], stored["closure_reason"]) == (
        "closed",
        before["received_date"],
        "unable_to_reach",
    )
    assert [(e["status"], e["closure_reason"]) for e in stored["history"]] == [
        ("received", None),
        ("closed", "unable_to_reach"),
    ]
    assert stored["history"][-1]["changed_by"] not in (None, "System")
    facts = page.find_element(By.CSS_SELECTOR, "section[aria-labelledby=referral-title] .facts")
    assert "Referral status\nClosed" in facts.text
    assert "Closure reason\nUnable to Reach" in facts.text
    history = table_rows(page, "Referral history")
    assert [row[:3] for row in history] == [
        ["Closed", before["received_date"], "Unable to Reach"],
        ["Received", before["received_date"], ""],
    ]
    screenshot(page, "patient-referral")


def test_the_list_sets_the_referral_status_of_the_selected_patients(
    page: Any, stack: RunningStack, members: list[int]
) -> None:
    chosen, left = members[7:9], members[6]
    sign_in(page, ADMIN_TOKEN)
    page.find_element(By.CSS_SELECTOR, "[data-nav=patients]").click()
    search = wait_until(page, lambda d: d.find_element(By.NAME, "search"))
    for patient_id in chosen:
        name = api(stack, "GET", f"/patients/{patient_id}")["patient"]["name"]
        search.clear()
        search.send_keys(name.split()[-1])
        button(page, "Search").click()
        tick = f"input[name=selected][value='{patient_id}']"
        wait_until(page, lambda d, tick=tick: d.find_element(By.CSS_SELECTOR, tick)).click()
    wait_text(page, "2 patients selected.")
    hidden = page.find_element(By.CSS_SELECTOR, "form[data-form=bulk] select[name=closure_reason]")
    assert not hidden.is_displayed()
    Select(field_control(page, "New referral status")).select_by_value("declined")
    reason = field_control(page, "Closure reason")
    assert reason == hidden and reason.is_displayed()
    Select(reason).select_by_value("declined")
    left_before = referral(stack, left)
    button(page, "Apply to the selected patients").click()
    wait_until(page, lambda d: saved_in(d, "bulk") == "Saved: 2 patients updated.")
    for patient_id in chosen:
        stored = referral(stack, patient_id)
        assert (stored["status"], stored["closure_reason"]) == ("declined", "declined")
        assert stored["history"][-1]["status"] == "declined"
        assert eligibility(stack, patient_id).get("ecm_enrollment_start_date") is None
    assert referral(stack, left) == left_before
    wait_text(page, "0 patients selected.")


def test_providers_and_care_managers_are_added_and_changed(page: Any, stack: RunningStack) -> None:
    sign_in(page, ADMIN_TOKEN)
    page.find_element(By.CSS_SELECTOR, "[data-nav=people]").click()
    wait_text(page, "Add a provider")
    field_control(page, "Provider name").send_keys("Daily Console Clinic")
    npi = field_control(page, "NPI")
    npi.send_keys("1234567890")  # fails the check digit
    button(page, "Add the provider").click()
    wait_text(page, "NPI '1234567890' is not a valid 10-digit NPI")
    assert stack and "Daily Console Clinic" not in str(api(stack, "GET", "/providers"))
    npi.clear()
    npi.send_keys("1743029187")
    button(page, "Add the provider").click()
    wait_until(
        page, lambda d: saved_in(d, "provider") == "Saved: provider Daily Console Clinic added."
    )
    assert ["Daily Console Clinic", "1743029187"] in [
        r[1:] for r in table_rows(page, "ECM providers")
    ]
    stored = api(stack, "GET", "/providers")["providers"]
    assert {"name": "Daily Console Clinic", "npi": "1743029187"} in [
        {"name": p["name"], "npi": p["npi"]} for p in stored
    ]

    field_control(page, "Care manager name").send_keys("Dana Daily")
    button(page, "Add the care manager").click()
    wait_until(page, lambda d: saved_in(d, "care-manager") == "Saved: Dana Daily added.")
    token = page.find_element(
        By.CSS_SELECTOR, 'form[data-form="care-manager"] .notice-info li'
    ).text
    assert len(token) >= 16
    manager = next(
        m for m in api(stack, "GET", "/care_managers")["care_managers"] if m["name"] == "Dana Daily"
    )
    assert (manager["role"], manager["phone"]) == ("ilcm", None)

    button(page, "Change Dana Daily").click()
    phone = wait_until(
        page,
        lambda d: d.find_element(
            By.CSS_SELECTOR, f'form[data-form="care-manager-{manager["id"]}"] input[name=phone]'
        ),
    )
    phone.send_keys("805-555-0199")
    button(page, "Save the changes").click()
    wait_until(page, lambda d: saved_in(d, f"care-manager-{manager['id']}") == "Saved")
    changed = next(
        m for m in api(stack, "GET", "/care_managers")["care_managers"] if m["id"] == manager["id"]
    )
    assert changed["phone"] == "+18055550199"
    screenshot(page, "people")


def test_the_exports_page_makes_a_plans_file_and_shows_what_it_left_out(
    page: Any, stack: RunningStack, members: list[int]
) -> None:
    reached, mailed = members[5], members[4]
    for patient_id, method in ((reached, "phone"), (mailed, "mail")):
        activity = {"type": "outreach", "method": method, "occurred_at": "2026-11-12T18:00:00Z"}
        api(stack, "POST", f"/patients/{patient_id}/activities", {"activity": activity})
    sign_in(page, ADMIN_TOKEN)
    page.find_element(By.CSS_SELECTOR, "[data-nav=exports]").click()
    wait_text(page, "Exports made")
    Select(field_control(page, "File")).select_by_value("otf")
    plan = field_control(page, "Plan")
    plan.clear()
    plan.send_keys(PLAN)
    set_value(page, field_control(page, "Month"), PERIOD)
    Select(field_control(page, "Format")).select_by_value("xlsx")
    button(page, "Make the file").click()
    heading = wait_until(
        page,
        lambda d: next(
            (h for h in d.find_elements(By.CSS_SELECTOR, ".export-status h2") if "done" in h.text),
            None,
        ),
    )
    assert page.switch_to.active_element == heading
    newest = api(stack, "GET", "/exports?per_page=1")["exports"][0]
    export = api(stack, "GET", f"/exports/{newest['id']}")["export"]
    assert (export["kind"], export["plan"], export["period"], export["format"]) == (
        "otf",
        PLAN,
        PERIOD,
        "xlsx",
    )
    assert export["skipped_count"] >= 1 and mailed in [s["patient_id"] for s in export["skipped"]]
    status = page.find_element(By.CSS_SELECTOR, ".export-status")
    written, left_out = (
        f"{n} row" if n == 1 else f"{n} rows"
        for n in (export["row_count"], export["skipped_count"])
    )
    assert f"{written} written, {left_out} skipped." in status.text
    skipped = table_rows(page, "Rows left out, and why")
    assert skipped == [
        [f"Patient {s['patient_id']}", str(s["activity_id"] or ""), "; ".join(s["reasons"])]
        for s in export["skipped"]
    ]
    download = status.find_element(By.PARTIAL_LINK_TEXT, f"Download {export['file_name']}")
    got = requests.get(download.get_attribute("href"), timeout=30)
    assert got.status_code == 200 and got.content[:2] == b"PK"  # an XLSX workbook
    history = wait_until(page, lambda d: table_rows(d, "Exports, newest first"))
    assert history[0][:6] == [
        str(export["id"]),
        f"OTF of {PLAN} for {PERIOD}",
        "XLSX",
        "Completed",
        str(export["row_count"]),
        str(export["skipped_count"]),
    ]
    screenshot(page, "exports")
    status.find_element(By.LINK_TEXT, f"Patient {mailed}").click()
    wait_text(page, "Change status and enrollment")
    assert page.current_url.endswith(f"#/patients/{mailed}")


def test_a_staff_token_is_told_what_the_role_may_do_and_sees_no_form(page: Any) -> None:
    help_text = page.find_element(By.TAG_NAME, "main").text
    assert not re.search(r"\bmake\b", help_text) and "administrator" in help_text
    sign_in_staff = page.find_element(By.NAME, "token")
    sign_in_staff.send_keys(STAFF_TOKEN)
    page.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_text(page, "What your role may do")
    assert page.switch_to.active_element.text == "What your role may do"
    assert not page.find_element(By.ID, "nav").is_displayed()
    assert (
        page.find_elements(By.CSS_SELECTOR, "main form, main input, main select, main button") == []
    )
    for route in ("#/patients", "#/exports", "#/people", "#/import"):
        page.execute_script("location.hash = arguments[0]", route)
        wait_text(page, "What your role may do")
        assert page.find_elements(By.CSS_SELECTOR, "main form") == []
    assert page.find_element(By.ID, "sign-out").is_displayed()


# The audit


@pytest.fixture
def axe_script() -> str:
    if not AXE.is_file():
        message = "axe-core is not installed: run `make axe` (npm ci)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


def audit(driver: Any, script: str, where: str) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is, one line per node."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(script)
    result = driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
           axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})
             .then((r) => done(JSON.stringify(r.violations)))
             .catch((e) => done(JSON.stringify([{id: 'axe-error', help: String(e), nodes: []}])));""",
        WCAG,
    )
    found = []
    for violation in json.loads(result):
        targets = [" ".join(map(str, n["target"])) for n in violation["nodes"]] or ["-"]
        found += [f"{where}: {violation['id']} ({violation['help']}) at {t}" for t in targets]
    return found


def too_wide(driver: Any) -> list[str]:
    """What makes the page wider than its window (the innermost such elements), if it is."""
    return list(
        driver.execute_script(
            """const root = document.documentElement;
               if (root.scrollWidth <= root.clientWidth) return [];
               const wide = [...document.body.querySelectorAll('*')].filter(
                 (e) => e.getBoundingClientRect().right > root.clientWidth + 0.5);
               return wide.filter((e) => !wide.some((o) => o !== e && e.contains(o)))
                 .map((e) => `${e.tagName}.${e.className} to ${e.getBoundingClientRect().right}px`);"""
        )
    )


@pytest.fixture
def sized(page: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    width = request.param
    page.set_window_size(width, 900)
    wait_until(page, lambda d: d.execute_script("return window.innerWidth") <= width)
    yield page
    page.set_window_size(1366, 900)


@pytest.mark.parametrize("sized", WIDTHS, indirect=True, ids=lambda w: f"{w}px")
def test_every_page_passes_axe_and_fits_the_width(
    sized: Any, axe_script: str, stack: RunningStack, members: list[int]
) -> None:
    driver = sized
    width = driver.execute_script("return window.innerWidth")
    found = audit(driver, axe_script, "sign-in")
    sign_in(driver, ADMIN_TOKEN)
    pages = [
        ("#/import", "Import a file"),
        ("#/files", "Member Information Files"),
        ("#/patients", "patients found."),
        (f"#/patients/{members[1]}", "Change status and enrollment"),
        ("#/plans", "Health plans"),
        ("#/exports", "Exports made"),
        ("#/people", "Care managers"),
    ]
    for route, text in pages:
        driver.execute_script("location.hash = arguments[0]", route)
        wait_text(driver, text)
        found += audit(driver, axe_script, f"{route} at {width}px")
        found += [f"{route} at {width}px: wider than the window: {w}" for w in too_wide(driver)]
        assert unlabelled_controls(driver) == []
    header = driver.find_element(By.CSS_SELECTOR, "header.top")
    sign_out = driver.find_element(By.ID, "sign-out")
    inside = driver.execute_script(
        """const [a, b] = [arguments[0].getBoundingClientRect(), arguments[1].getBoundingClientRect()];
           return b.left >= a.left && b.right <= a.right && b.top >= a.top && b.bottom <= a.bottom;""",
        header,
        sign_out,
    )
    if not inside:
        found.append(f"at {width}px: Sign out is drawn outside the dark header")
    driver.find_element(By.ID, "sign-out").click()
    wait_until(driver, lambda d: d.find_element(By.NAME, "token"))
    assert found == [], "\n".join(found)


def test_a_provider_is_renamed_and_given_an_npi_on_the_people_page(
    page: Any, stack: RunningStack
) -> None:
    added = api(stack, "POST", "/providers", {"provider": {"name": "Daily Edit Clinic"}})
    provider_id = added["provider"]["id"]
    sign_in(page, ADMIN_TOKEN)
    page.find_element(By.CSS_SELECTOR, "[data-nav=people]").click()
    choice = Select(wait_until(page, lambda d: field_control(d, "Provider to change")))
    choice.select_by_value(str(provider_id))
    button(page, "Change this provider").click()
    form = f'form[data-form="provider-{provider_id}"]'
    name = wait_until(page, lambda d: d.find_element(By.CSS_SELECTOR, f"{form} input[name=name]"))
    assert page.switch_to.active_element == name
    npi = page.find_element(By.CSS_SELECTOR, f"{form} input[name=npi]")
    assert unlabelled_controls(page) == []
    npi.send_keys("1912345600")  # fails the check digit
    button(page, "Save the provider").click()
    wait_text(page, "NPI '1912345600' is not a valid 10-digit NPI")
    unchanged = next(
        p for p in api(stack, "GET", "/providers")["providers"] if p["id"] == provider_id
    )
    assert unchanged == added["provider"]
    name.clear()
    name.send_keys("Daily Edit Clinic North")
    npi.clear()
    npi.send_keys("1912345604")
    button(page, "Save the provider").click()
    wait_until(page, lambda d: saved_in(d, f"provider-{provider_id}") == "Saved")
    assert [str(provider_id), "Daily Edit Clinic North", "1912345604"] in [
        r[:3] for r in table_rows(page, "ECM providers")
    ]
    stored = next(p for p in api(stack, "GET", "/providers")["providers"] if p["id"] == provider_id)
    assert (stored["name"], stored["npi"], stored["version"]) == (
        "Daily Edit Clinic North",
        "1912345604",
        2,
    )
    # The form drawn again holds the new version: a second change is taken, not refused.
    again = page.find_element(By.CSS_SELECTOR, f"{form} input[name=npi]")
    again.clear()
    button(page, "Save the provider").click()
    wait_until(
        page,
        lambda d: (
            next(p for p in api(stack, "GET", "/providers")["providers"] if p["id"] == provider_id)[
                "npi"
            ]
            is None
        ),
    )
    wait_until(page, lambda d: saved_in(d, f"provider-{provider_id}") == "Saved")
    screenshot(page, "people-provider-edit")
