// Patients: search, the filters of docs/api/patients.md, sort and pagination. The search text goes
// in the POST body of /patients/filter, never in a URL (a name or member id is PHI).

import { call } from "./api.js";
import { failure, field, fill, h, label, select, table } from "./dom.js";
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

export async function renderPatients(main) {
  let options;
  try {
    options = await Promise.all([choices(), staff()]);
  } catch (error) {
    fill(main, h("h1", {}, "Patients"), failure(error, "the patients"));
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
  fill(main, h("h1", {}, "Patients"), form, results);
  await load(results);
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
    table(
      `Patients, page ${pagination.current_page} of ${pages}`,
      [
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
