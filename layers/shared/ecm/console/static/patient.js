// One patient: eligibility, authorizations, status history, case load, activities; edit
// acuity, status and what the return files need (enrollment dates, the discontinuation),
// assign the case load, record an activity. The API's validation messages are shown at the
// field they name (data-path on each control); a saved change says so in its form, which
// keeps the focus, and the page is drawn again in place (no jump to the top).

import { ApiError, call } from "./api.js";
import { facts, failure, field, fill, formatTime, h, label, notice, pageTitle, select, table } from "./dom.js";
import { dateControl, statusControls } from "./enrollment.js";
import { apiForm } from "./forms.js";
import { choices, staff } from "./lookups.js";
import { planFacts } from "./planfields.js";

/** `again`: drawing the page again after a change, from the new data without "Loading…". */
export async function renderPatient(main, id, again = false) {
  if (!again) fill(main, h("p", { class: "empty" }, "Loading…"));
  let patient, activities, values, people;
  try {
    [{ patient }, { activities }, values, people] = await Promise.all([
      call("GET", `/patients/${id}`),
      call("GET", `/patients/${id}/activities?per_page=100`),
      choices(),
      staff(),
    ]);
  } catch (error) {
    const gone = error instanceof ApiError && error.status === 404;
    fill(
      main,
      h("p", {}, h("a", { href: "#/patients" }, "← All patients")),
      gone ? notice("error", "There is no such patient.") : failure(error, "this patient"),
    );
    return;
  }
  const reload = () => renderPatient(main, id, true);
  const eligibility = patient.ecm_eligibility_information || {};
  fill(
    main,
    h("p", {}, h("a", { href: "#/patients" }, "← All patients")),
    pageTitle(patient.name || `Patient ${patient.id}`),
    h(
      "div",
      { class: "columns" },
      section(
        "Member",
        facts([
          ["Date of birth", patient.date_of_birth],
          ["Gender", patient.gender],
          ["Phone", patient.phone],
          ["Email", patient.email],
          ["Address", addressText(patient.address)],
        ]),
      ),
      section(
        "Eligibility",
        facts([
          ["Member id", eligibility.member_id],
          ["CIN", eligibility.cin],
          ["Status", label(eligibility.member_record_status)],
          ["Acuity", label(eligibility.acuity_level)],
          ["Enrollment start", eligibility.ecm_enrollment_start_date],
          ["Enrollment end", eligibility.ecm_enrollment_end_date],
          ["Discontinued", discontinuationText(eligibility, values)],
          ["Service authorization", eligibility.ecm_service_auth_id],
          ["Benefit from", eligibility.ecm_benefit_auth_eff_date],
          ["Benefit to", eligibility.ecm_benefit_auth_end_date],
          ["ECM provider", eligibility.ecm_provider_name],
          ["NPI", eligibility.ecm_npi],
        ]),
      ),
    ),
    planFacts(patient),
    h(
      "div",
      { class: "columns" },
      section("Change status and enrollment", eligibilityForm(patient, values, reload)),
      section("Case load", caseLoadForm(patient, people, reload)),
    ),
    // The referral (ecm_eligibility_information.referral: status, its date, the closure
    // reason) is edited in a section of its own here, between enrollment and the history.
    section(
      "Status history",
      table(
        "Status history, newest first",
        [
          ["Status", (s) => label(s.status)],
          ["Reason", (s) => (s.reason ? values.discontinuation_reason[s.reason] || label(s.reason) : "")],
          ["Changed", (s) => formatTime(s.changed_at)],
          ["By", (s) => s.changed_by],
        ],
        [...(patient.ecm_status_history || [])].reverse(),
        { empty: "No status recorded yet." },
      ),
    ),
    section(
      "Authorizations",
      table(
        "Authorizations",
        [
          ["Number", (a) => a.auth_no],
          ["Type", (a) => a.authorization_type || a.auth_type],
          ["Status", (a) => label(a.status)],
          ["Start", (a) => a.start_date],
          ["Expires", (a) => a.expiration_date],
        ],
        patient.ecm_authorizations || [],
        { empty: "No authorization yet." },
      ),
    ),
    section(
      "Activities",
      table(
        "Activities, newest first",
        [
          ["When", (a) => formatTime(a.occurred_at)],
          ["Type", (a) => label(a.type)],
          ["Method", (a) => label(a.method)],
          ["Successful", (a) => (a.successful === null || a.successful === undefined ? "" : a.successful ? "Yes" : "No")],
          ["Outcome", (a) => a.outcome],
          ["Minutes", (a) => (a.minutes === null ? "" : String(a.minutes))],
          ["Note", (a) => a.note],
        ],
        activities,
        { empty: "No activity recorded yet." },
      ),
      activityForm(patient, values, reload),
    ),
  );
}

function section(title, ...content) {
  return h("section", { class: "card" }, h("h2", {}, title), content);
}

function addressText(address) {
  if (!address) return null;
  const parts = [address.street, address.city, address.state, address.zip];
  const text = parts.filter(Boolean).join(", ");
  return text || null;
}

function discontinuationText(eligibility, values) {
  if (!eligibility.discontinuation_reason && !eligibility.discontinuation_date) return null;
  const reason = values.discontinuation_reason[eligibility.discontinuation_reason] || "no reason given";
  return `${eligibility.discontinuation_date || "—"}: ${reason}`;
}

function eligibilityForm(patient, values, reload) {
  const eligibility = patient.ecm_eligibility_information || {};
  const path = "patient.ecm_eligibility_information";
  const acuity = select("acuity_level", values.acuity_level, { empty: "Not set", value: eligibility.acuity_level });
  const status = statusControls(values, eligibility, { path });
  const start = dateControl("ecm_enrollment_start_date", eligibility.ecm_enrollment_start_date);
  const end = dateControl("ecm_enrollment_end_date", eligibility.ecm_enrollment_end_date);
  return apiForm(
    "eligibility",
    [
      field("Acuity", acuity, { path: `${path}.acuity_level` }),
      status.nodes,
      h(
        "div",
        { class: "filters" },
        field("Enrollment start", start, { path: `${path}.ecm_enrollment_start_date` }),
        field("Enrollment end", end, { path: `${path}.ecm_enrollment_end_date` }),
      ),
      h("button", { type: "submit", class: "primary" }, "Save"),
    ],
    () => {
      const change = status.body();
      if (acuity.value) change.acuity_level = acuity.value;
      if (start.value) change.ecm_enrollment_start_date = start.value;
      if (end.value) change.ecm_enrollment_end_date = end.value;
      return call("PUT", `/patients/${patient.id}`, { patient: { ecm_eligibility_information: change } });
    },
    { done: reload, success: "Saved" },
  );
}

function caseLoadForm(patient, people, reload) {
  const current = patient.case_load || {};
  const pick = (name, records, value) =>
    h(
      "select",
      { name },
      h("option", { value: "" }, "Nobody"),
      records.map((r) => h("option", { value: String(r.id), selected: r.id === value }, r.name)),
    );
  const provider = pick("provider_id", people.providers, current.provider_id);
  const olcm = pick("olcm_user_id", people.olcm, current.olcm_user_id);
  const ilcm = pick("ilcm_user_id", people.ilcm, current.ilcm_user_id);
  const number = (control) => (control.value === "" ? null : Number(control.value));
  return apiForm(
    "case-load",
    [
      field("Provider", provider, { path: "case_load.provider_id" }),
      field("Outreach lead care manager (OLCM)", olcm, { path: "case_load.olcm_user_id" }),
      field("Lead care manager (ILCM)", ilcm, { path: "case_load.ilcm_user_id" }),
      h("button", { type: "submit", class: "primary" }, "Assign"),
    ],
    () =>
      call("PUT", `/patients/${patient.id}/case_load`, {
        case_load: {
          provider_id: number(provider),
          olcm_user_id: number(olcm),
          ilcm_user_id: number(ilcm),
        },
      }),
    { done: reload, success: "Case load saved" },
  );
}

function activityForm(patient, values, reload) {
  const type = select("type", values.activity_type, { value: "outreach" });
  const method = select("method", values.activity_method, { empty: "Not said" });
  const when = h("input", { type: "datetime-local", name: "occurred_at", value: localNow() });
  const outcome = h("input", { type: "text", name: "outcome", maxlength: 255 });
  const minutes = h("input", { type: "number", name: "minutes", min: 0, step: 1 });
  const note = h("textarea", { name: "note" });
  // Whether an outreach attempt reached the member (the OTF reports it); outreach only.
  const successful = select("successful", ["true", "false"], { empty: "Not said" });
  successful.options[1].textContent = "Yes: the member was reached";
  successful.options[2].textContent = "No";
  type.addEventListener("change", () => {
    successful.disabled = type.value !== "outreach";
    if (successful.disabled) successful.value = "";
  });
  return h(
    "div",
    {},
    h("h3", {}, "Record an activity"),
    apiForm(
      "activity",
      [
        h(
          "div",
          { class: "filters" },
          field("Type", type, { path: "activity.type" }),
          field("Method", method, { path: "activity.method" }),
          field("Successful", successful, { path: "activity.successful", hint: "For an outreach attempt" }),
          field("When", when, { path: "activity.occurred_at" }),
          field("Minutes", minutes, { path: "activity.minutes" }),
        ),
        field("Outcome", outcome, { path: "activity.outcome" }),
        field("Note", note, { path: "activity.note" }),
        h("button", { type: "submit", class: "primary" }, "Record"),
      ],
      () => {
        const activity = { type: type.value, occurred_at: when.value ? new Date(when.value).toISOString() : "" };
        if (method.value) activity.method = method.value;
        if (successful.value) activity.successful = successful.value === "true";
        if (outcome.value.trim()) activity.outcome = outcome.value.trim();
        if (minutes.value !== "") activity.minutes = Number(minutes.value);
        if (note.value.trim()) activity.note = note.value.trim();
        return call("POST", `/patients/${patient.id}/activities`, { activity });
      },
      { done: reload, success: "Activity recorded" },
    ),
  );
}

/** Now, as a datetime-local value in the browser's zone. */
function localNow() {
  const now = new Date();
  now.setMinutes(now.getMinutes() - now.getTimezoneOffset());
  return now.toISOString().slice(0, 16);
}
