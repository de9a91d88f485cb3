"""The console's import pages in a real browser, against the local stack: a column no field is
known by remembered for the file's plan and the file checked again; the Plans page; the dry
run's errors corrected in place ("Check again" sending the changed cells); what a MIF changed
against the plan's last one; a patient's kept columns and "not in the latest MIF".

The steps that need an API another change brings (corrections, changes, kept columns) skip,
naming it, while the stack does not serve it, and run as soon as it does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
import test_console_browser as console_browser
from fixtures_builders import mif_csv, sample_mif_row
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from stack_fixture import ADMIN_TOKEN, RunningStack, data_uri, patients_by_member
from test_console_browser import (
    button,
    choose_file,
    field_control,
    screenshot,
    sign_in,
    table_rows,
    unlabelled_controls,
    wait_text,
    wait_until,
)

# The browser and a fresh page, as the console's other browser tests have them.
browser = console_browser.browser
page = console_browser.page

ECM = "/v1/admin/clinic/ecm"
#: Member numbers no other test file uses (the stack is shared per worker).
BASE = 760_000


def _api(stack: RunningStack, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(
        method, stack.api + ECM + path, json=body, headers=stack.headers(), timeout=60
    )


def _served_paths(stack: RunningStack) -> set[str]:
    document = requests.get(stack.api + "/v1/openapi.json", timeout=30).json()
    return set(document["paths"])


def _needs_corrections(stack: RunningStack) -> None:
    if not any(
        p.startswith(ECM + "/mifs/") and p.endswith("/corrections") for p in _served_paths(stack)
    ):
        pytest.skip("POST /mifs/{id}/corrections is not served by this stack yet")


def _import(stack: RunningStack, rows: list[dict[str, str]], plan: str) -> dict[str, Any]:
    answer = _api(
        stack, "POST", "/mifs", {"mif": {"file": data_uri(mif_csv(rows), "csv"), "plan": plan}}
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _pick_new_plan(driver: Any, code: str) -> None:
    Select(field_control(driver, "Health plan")).select_by_visible_text(
        "Another plan (a new code)…"
    )
    field_control(driver, "New plan's code").send_keys(code)


def _pick_plan(driver: Any, code: str) -> None:
    choice = field_control(driver, "Health plan")
    wait_until(driver, lambda d: code in [o.get_attribute("value") for o in Select(choice).options])
    Select(choice).select_by_value(code)


def _focused_id(driver: Any) -> str:
    return str(driver.switch_to.active_element.get_attribute("id"))


def test_a_column_remembered_for_the_plan_reads_when_the_file_is_checked_again(
    page: Any, stack: RunningStack, tmp_path: Path
) -> None:
    rows = [sample_mif_row(i) for i in range(BASE, BASE + 2)]
    renamed = [{("Mbr Frst Nm" if k == "FIRST_NAME" else k): v for k, v in r.items()} for r in rows]
    path = tmp_path / "plan headers.csv"
    path.write_bytes(mif_csv(renamed))
    sign_in(page, ADMIN_TOKEN)
    _pick_new_plan(page, "C27-Remember")  # any case: the plan is kept in lower case
    choose_file(page, path)

    wait_text(page, "This file cannot be imported")
    assert "Missing required column: FIRST_NAME" in page.find_element(By.TAG_NAME, "main").text
    unmapped = table_rows(page, "Columns no field is known by")
    assert [r[:2] for r in unmapped] == [["Mbr Frst Nm", unmapped[0][1]]]
    assert unmapped[0][1].startswith("FIRST_NAME (")
    choice = page.find_element(
        By.CSS_SELECTOR, "select[aria-label='Field for the column Mbr Frst Nm']"
    )
    assert Select(choice).first_selected_option.get_attribute("value") == "FIRST_NAME"
    assert unlabelled_controls(page) == []
    page.execute_script("arguments[0].scrollIntoView()", choice)
    screenshot(page, "unmapped-columns")

    button(page, "Remember for c27-remember and check again").click()
    wait_text(page, "Remembered for c27-remember; the file was checked again.")
    wait_text(page, "Dry run: what this file would do")
    text = page.find_element(By.TAG_NAME, "main").text
    assert "Mbr Frst Nm → FIRST_NAME" in text
    assert "Would create\n2" in text and "Every row is valid." in text
    assert not page.find_elements(By.CSS_SELECTOR, "select[data-column]")  # nothing unread now
    assert _focused_id(page) == "dry-run-title"

    stored = _api(stack, "GET", "/plans/c27-remember")
    assert stored.status_code == 200, stored.text
    assert stored.json()["plan"]["mif_columns"] == {"Mbr Frst Nm": "FIRST_NAME"}
    assert stored.json()["plan"]["name"] == "c27-remember"
    assert rows[0]["MEMBER_ID"] not in patients_by_member(stack)  # both checks were dry runs


def test_the_plans_page_lists_each_plan_with_its_headers_and_layouts(
    page: Any, stack: RunningStack
) -> None:
    plan = {
        "name": "Console Listed Plan",
        "mif_columns": {"Mbr Lst Nm": "LAST_NAME", "Birth Dt": "DOB"},
        "full_roster": False,
        "mcp_name": "Listed Health",
        "mcp_identifier": "LH01",
        "rtf": {"date_format": "YYYY-MM-DD", "codes": {"yes_no": {"yes": "Y", "no": "N"}}},
        "otf": None,
    }
    put = _api(stack, "PUT", "/plans/c27-listed", {"plan": plan})
    assert put.status_code == 200, put.text
    sign_in(page, ADMIN_TOKEN)
    page.find_element(By.CSS_SELECTOR, "[data-nav=plans]").click()
    card = wait_until(page, lambda d: d.find_element(By.CSS_SELECTOR, "[data-plan='c27-listed']"))
    assert card.find_element(By.TAG_NAME, "h2").text == "Console Listed Plan (c27-listed)"
    facts = card.find_element(By.CSS_SELECTOR, ".facts").text
    assert "Every MIF lists the whole roster\nNo" in facts
    assert "Identifier in return files\nLH01" in facts
    assert table_rows(page, "Headers of c27-listed's MIFs") == [
        ["Birth Dt", "DOB"],
        ["Mbr Lst Nm", "LAST_NAME"],
    ]
    assert "Date format\nYYYY-MM-DD" in card.text
    assert table_rows(page, "c27-listed Return Transmission File (RTF): codes") == [
        ["yes_no", "yes", "Y"],
        ["yes_no", "no", "N"],
    ]
    assert "Outreach Tracking File (OTF)\nThe DHCS template as it is." in card.text
    listed = [p["code"] for p in _api(stack, "GET", "/plans").json()["plans"]]
    shown = [
        e.get_attribute("data-plan") for e in page.find_elements(By.CSS_SELECTOR, "[data-plan]")
    ]
    assert shown == listed  # every plan the API lists, in its order
    screenshot(page, "plans")


def test_the_errors_table_offers_an_input_per_failed_cell_and_sends_only_changed_cells(
    page: Any, stack: RunningStack, tmp_path: Path
) -> None:
    rows = [sample_mif_row(i) for i in range(BASE + 10, BASE + 13)]
    rows[1]["DOB"] = "13/45/1990"
    path = tmp_path / "one bad row.csv"
    path.write_bytes(mif_csv(rows))
    sign_in(page, ADMIN_TOKEN)
    choose_file(page, path)
    wait_text(page, "Dry run: what this file would do")
    assert table_rows(page, "Rows with errors") == [
        ["3", "DOB", "13/45/1990", "is not a valid MM-DD-YYYY date"],
    ]
    cell = page.find_element(By.CSS_SELECTOR, "input[aria-label='Row 3, DOB: corrected value']")
    assert cell.get_attribute("value") == "13/45/1990"
    assert unlabelled_controls(page) == []

    button(page, "Check again").click()  # nothing changed: nothing is sent
    wait_text(page, "Change a value in the table first: only changed cells are sent.")

    _needs_corrections(stack)
    cell.clear()
    cell.send_keys(rows[0]["DOB"])
    button(page, "Check again").click()
    wait_text(page, "1 corrected cell sent; the file was checked again.")
    wait_text(page, "Every row is valid.")
    assert _focused_id(page) == "dry-run-title"  # focus moves to the outcome
    facts = page.find_element(By.CSS_SELECTOR, "section .facts").text
    assert "Would create\n3" in facts and "(1 cell corrected)" in facts
    assert rows[1]["MEMBER_ID"] not in patients_by_member(stack)  # still a dry run

    button(page, "Import").click()
    wait_text(page, "Import finished")
    assert "Imported: 3 created, 0 updated." in page.find_element(By.TAG_NAME, "main").text
    stored = patients_by_member(stack)[rows[1]["MEMBER_ID"]]
    answer = _api(stack, "GET", f"/patients/{int(stored['id'])}")
    month, day, year = rows[0]["DOB"].split("-")
    assert answer.json()["patient"]["date_of_birth"] == f"{year}-{month}-{day}"
    assert "(1 cell corrected)" in page.find_element(By.TAG_NAME, "main").text


def test_more_failed_rows_than_the_page_corrects_point_to_the_errors_file(
    page: Any, tmp_path: Path
) -> None:
    rows = [sample_mif_row(i) for i in range(BASE + 100, BASE + 602)]
    for row in rows[1:]:
        row["DOB"] = "31/31/1990"
    path = tmp_path / "501 bad rows.csv"
    path.write_bytes(mif_csv(rows))
    sign_in(page, ADMIN_TOKEN)
    choose_file(page, path)
    wait_text(page, "Dry run: what this file would do")
    wait_text(page, "501 rows have errors: too many to correct here (up to 500).")
    assert not page.find_elements(By.CSS_SELECTOR, "input[name=correction]")
    assert not [b for b in page.find_elements(By.TAG_NAME, "button") if b.text == "Check again"]
    assert page.find_element(By.LINK_TEXT, "Download every error (CSV)").get_attribute("href")
    assert "Would create\n1" in page.find_element(By.CSS_SELECTOR, "section .facts").text


def test_the_result_shows_what_changed_since_the_plans_last_file(
    page: Any, stack: RunningStack, tmp_path: Path
) -> None:
    plan = "c27-changes"
    rows = [sample_mif_row(i) for i in range(BASE + 20, BASE + 23)]
    first = _import(stack, rows, plan)
    if "changes" not in first:
        pytest.skip("the 201 body of a MIF import has no changes yet")
    second = [dict(rows[0], CITY="Oakland"), rows[1], sample_mif_row(BASE + 23)]  # rows[2] dropped
    path = tmp_path / "second month.csv"
    path.write_bytes(mif_csv(second))
    sign_in(page, ADMIN_TOKEN)
    _pick_plan(page, plan)
    choose_file(page, path)
    wait_text(page, "Against the plan's last file, this file would")
    dry = page.find_element(By.CSS_SELECTOR, "[data-changes]").text
    assert "Would add (members)\n1" in dry and "Would drop (members)\n1" in dry
    button(page, "Import").click()
    wait_text(page, "Import finished")
    summary = page.find_element(By.CSS_SELECTOR, "[data-changes]").text
    for line in (
        "Added (members)\n1",
        "Changed (members)\n1",
        "Unchanged (members)\n1",
        "Dropped (members)\n1",
    ):
        assert line in summary, summary
    link = page.find_element(By.PARTIAL_LINK_TEXT, "Download the changes (CSV)").get_attribute(
        "href"
    )
    changes = requests.get(link, timeout=30)
    assert changes.status_code == 200
    assert {line.split(",")[1] for line in changes.text.splitlines()[1:]} == {
        "added",
        "changed",
        "dropped",
    }
    screenshot(page, "changes")


def test_a_patient_page_shows_the_kept_columns_and_not_in_the_latest_mif(
    page: Any, stack: RunningStack
) -> None:
    plan = "c27-kept"
    rows = [dict(sample_mif_row(i), County=f"County {i}") for i in range(BASE + 30, BASE + 32)]
    first = _import(stack, rows, plan)
    _import(stack, rows[:1], plan)  # the second month's file leaves rows[1] out
    patient_id = int(patients_by_member(stack)[rows[1]["MEMBER_ID"]]["id"])
    patient = _api(stack, "GET", f"/patients/{patient_id}").json()["patient"]
    eligibility = patient["ecm_eligibility_information"]
    if "plan_fields" not in eligibility or "in_latest_mif" not in eligibility:
        pytest.skip("GET /patients/{id} has no plan_fields and in_latest_mif yet")
    assert eligibility["in_latest_mif"] is False
    sign_in(page, ADMIN_TOKEN)
    page.get(f"{stack.api}/console/#/patients/{patient_id}")
    wait_text(page, "Change status and enrollment")
    assert table_rows(page, "Columns kept from the plan's MIF") == [
        ["County", f"County {BASE + 31}"]
    ]
    notice = page.find_element(By.TAG_NAME, "main").text
    assert "Not in the latest MIF" in notice
    assert f"MIF file {eligibility['dropped_in_mif_file_id']} did not list this member" in notice
    assert eligibility["dropped_in_mif_file_id"] != first["mif_file_id"]

    kept_id = int(patients_by_member(stack)[rows[0]["MEMBER_ID"]]["id"])
    page.get(f"{stack.api}/console/#/patients/{kept_id}")
    wait_text(page, "Change status and enrollment")
    assert "Not in the latest MIF" not in page.find_element(By.TAG_NAME, "main").text
