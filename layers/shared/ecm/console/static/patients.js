// Patients: search, the filters of docs/api/patients.md, sort and pagination. The search text goes
// in the POST body of /patients/filter, never in a URL (a name or member id is PHI). Patients
// ticked in the list get one change together (POST /patients/bulk_update, all or nothing).

import { ApiError, call } from "./api.js";
import { failure, field, fill, h, label, pageTitle, select, table } from "./dom.js";
import { dateControl, statusControls } from "./enrollment.js";
import { apiForm } from "./forms.js";
import { choices, staff } from "./lookups.js";

// Kept while the tab is open, so going back from a patient shows the same page.
const query = {
  search: "",
  filters: {},
  sort_by: "name",
  sort_dir: "ASC",
  page: 1,
  per_page: 25,
};
// The ids ticked for a bulk change, kept across pages of the list.
const selected = new Set();

export async function renderPatients(main) {
  let options;
  try {
    options = await Promise.all([choices(), staff()]);
  } catch (error) {
    fill(main, pageTitle("Patients"), failure(error, "the patients"));
    return;
  }
  const [values, people] = options;
  const results = h("div", { "aria-live": "polite" });

  const search = h("input", { type: "search", name: "search", value: query.search, autocomplete: "off" });
  const filterControls = {
    status: select("status", values.member_record_status, { empty: "Any", value: query.filters.status }),
    acuity_level: select("acuity_level", values.acuity_level, { empty: "Any", value: query.filters.acuity_level }),
    authorization_status: select("authorization_status", values.authorization_status, {
      empty: "Any",
      value: query.filters.authorization_status,
    }),
    provider_id: idSelect("provider_id", people.providers, query.filters.provider_id),
    olcm_user_id: idSelect("olcm_user_id", people.olcm, query.filters.olcm_user_id),
    ilcm_user_id: idSelect("ilcm_user_id", people.ilcm, query.filters.ilcm_user_id),
  };
  const sortBy = select("sort_by", values.sort_by, { value: query.sort_by });
  const sortDir = select("sort_dir", ["ASC", "DESC"], { value: query.sort_dir });
  sortDir.options[0].textContent = "Ascending";
  sortDir.options[1].textContent = "Descending";
  const perPage = select("per_page", ["10", "25", "50", "100"], { value: String(query.per_page) });

  const form = h(
    "form",
    {
      class: "card",
      role: "search",
      novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        query.search = search.value.trim();
        query.filters = {};
        for (const [key, control] of Object.entries(filterControls)) {
          if (control.value === "") continue;
          query.filters[key] = key.endsWith("_id") ? Number(control.value) : control.value;
        }
        query.sort_by = sortBy.value;
        query.sort_dir = sortDir.value;
        query.per_page = Number(perPage.value);
        query.page = 1;
        load(results);
      },
    },
    field("Search", search, { hint: "The start of a name, last name, member id or CIN.", path: "search" }),
    h(
      "div",
      { class: "filters" },
      field("Member status", filterControls.status, { path: "filters.status" }),
      field("Acuity", filterControls.acuity_level, { path: "filters.acuity_level" }),
      field("Authorization", filterControls.authorization_status, { path: "filters.authorization_status" }),
      field("Provider", filterControls.provider_id, { path: "filters.provider_id" }),
      field("Outreach lead (OLCM)", filterControls.olcm_user_id, { path: "filters.olcm_user_id" }),
      field("Lead care manager (ILCM)", filterControls.ilcm_user_id, { path: "filters.ilcm_user_id" }),
    ),
    h(
      "div",
      { class: "filters" },
      field("Sort by", sortBy, { path: "sort_by" }),
      field("Order", sortDir, { path: "sort_dir" }),
      field("Per page", perPage, { path: "per_page" }),
    ),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Search")),
  );
  fill(main, pageTitle("Patients"), form, results, bulkForm(values, results));
  await load(results);
}

/** The change applied to every ticked patient: status (with its discontinuation), enrollment start. */
function bulkForm(values, results) {
  const count = h("p", { class: "selected-count", "aria-live": "polite" });
  const status = statusControls(values, {}, {
    path: "bulk",
    keep: "Keep each one's status",
    name: "New status",
  });
  const start = dateControl("ecm_enrollment_start_date", "");
  const showCount = () => {
    count.textContent = `${selected.size} patients selected.`;
  };
  showCount();
  results.addEventListener("change", showCount);
  const form = apiForm(
    "bulk",
    [
      status.nodes,
      field("Enrollment start", start, { path: "bulk.ecm_enrollment_start_date" }),
      count,
      h("button", { type: "submit", class: "primary" }, "Apply to the selected patients"),
    ],
    () => {
      if (!selected.size) throw new ApiError(400, ["Select one or more patients in the list first."]);
      const change = status.body();
      if (start.value) change.ecm_enrollment_start_date = start.value;
      if (!Object.keys(change).length) throw new ApiError(400, ["Choose a status or an enrollment start date."]);
      const patients = [...selected].map((id) => ({ id, ecm_eligibility_information: change }));
      return call("POST", "/patients/bulk_update", { patients });
    },
    {
      done: async () => {
        selected.clear();
        showCount();
        await load(results);
      },
      success: (result) => `Saved: ${result.patients.length} patients updated.`,
    },
  );
  return h(
    "section",
    { class: "card", "aria-labelledby": "bulk-title" },
    h("h2", { id: "bulk-title" }, "Change the selected patients"),
    h("p", { class: "hint" }, "Tick patients in the list (on any page), then apply one change to all of them: nothing is written unless every one can take it."),
    form,
  );
}

function tick(p) {
  return h("input", {
    type: "checkbox",
    name: "selected",
    value: String(p.id),
    checked: selected.has(p.id),
    "aria-label": `Select ${p.name || `patient ${p.id}`}`,
    onchange: (event) => {
      if (event.target.checked) selected.add(p.id);
      else selected.delete(p.id);
    },
  });
}

function tickAll(patients) {
  const all = h("input", {
    type: "checkbox",
    name: "select_page",
    checked: patients.length > 0 && patients.every((p) => selected.has(p.id)),
    onchange: (event) => {
      for (const p of patients) {
        if (event.target.checked) selected.add(p.id);
        else selected.delete(p.id);
      }
      for (const box of document.querySelectorAll("input[name=selected]")) box.checked = event.target.checked;
    },
  });
  return h("label", { class: "choice" }, all, "Select every patient on this page");
}

function idSelect(name, records, value) {
  const control = h(
    "select",
    { name },
    h("option", { value: "" }, "Any"),
    records.map((r) => h("option", { value: String(r.id), selected: r.id === value }, r.name)),
  );
  return control;
}

async function load(results) {
  fill(results, h("p", { class: "empty" }, "Loading…"));
  let data;
  try {
    data = await call("POST", "/patients/filter", {
      search: query.search || null,
      filters: query.filters,
      sort_by: query.sort_by,
      sort_dir: query.sort_dir,
      page: query.page,
      per_page: query.per_page,
    });
  } catch (error) {
    fill(results, failure(error, "the patients"));
    return;
  }
  const { patients, pagination } = data;
  const pages = Math.max(pagination.total_pages, 1);
  const go = (page) => {
    query.page = page;
    load(results);
  };
  fill(
    results,
    h("p", {}, `${pagination.total_count} patients found.`),
    patients.length ? tickAll(patients) : null,
    table(
      `Patients, page ${pagination.current_page} of ${pages}`,
      [
        ["Select", tick],
        ["Name", (p) => h("a", { href: `#/patients/${p.id}` }, p.name || `Patient ${p.id}`)],
        ["Date of birth", (p) => p.date_of_birth || "—"],
        ["Member id", (p) => p.ecm_eligibility_information.member_id || "—"],
        ["Status", (p) => label(p.ecm_eligibility_information.member_record_status) || "—"],
        ["Acuity", (p) => label(p.ecm_eligibility_information.acuity_level) || "—"],
        ["Provider", (p) => p.case_load.provider_name || "—"],
        ["Lead care manager", (p) => p.case_load.ilcm_name || "—"],
      ],
      patients,
      { empty: "No patient matches." },
    ),
    h(
      "div",
      { class: "pager" },
      h("button", { type: "button", disabled: query.page <= 1, onclick: () => go(query.page - 1) }, "Previous"),
      h("span", {}, `Page ${pagination.current_page} of ${pages}`),
      h("button", { type: "button", disabled: query.page >= pages, onclick: () => go(query.page + 1) }, "Next"),
    ),
  );
}
