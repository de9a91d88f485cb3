// The member's referral, closed-loop (ecm_eligibility_information.referral): where it came
// from, where it stands, why its loop closed and every change of it; set on the patient page
// and for many patients at once. A closure reason is offered, and asked for, only with a
// status that closes the loop (choices.json: referral_closed_status).

import { ApiError, call } from "./api.js";
import { facts, field, formatTime, h, label, table } from "./dom.js";
import { apiForm } from "./forms.js";

const REFERRAL = "patient.ecm_eligibility_information.referral";
const RECEIVED_FROM = {
  authorization: "the authorization's received date",
  benefit: "the benefit's effective date",
  import: "the day the member was imported",
  user: "set by hand",
};

/** A select of a code table ([value, the return files' words], in its order), with an empty first option. */
function codeSelect(name, codes, { empty, value, required = false }) {
  return h(
    "select",
    { name, required },
    h("option", { value: "" }, empty),
    codes.map(([code, text]) => h("option", { value: code, selected: code === value }, text)),
  );
}

/** The words of a code in its table ("" for none). */
function words(codes, code) {
  if (!code) return "";
  const found = codes.find(([value]) => value === code);
  return found ? found[1] : label(code);
}

/**
 * The status (and, for a closed one, the closure reason) controls and the body part they
 * make; `path` prefixes each control's data-path so the API's messages land at them.
 */
export function referralControls(values, current, { path = REFERRAL, keep, name = "Referral status", date = true } = {}) {
  const status = codeSelect("referral_status", values.referral_status, { empty: keep, value: current.status });
  const reason = codeSelect("closure_reason", values.closure_reason, {
    empty: "Choose a reason",
    value: current.closure_reason,
    required: true,
  });
  const day = date ? h("input", { type: "date", name: "referral_status_date" }) : null;
  const closing = h("div", {}, field("Closure reason", reason, { path: `${path}.closure_reason`, hint: "Why the referral's loop closed." }));
  const closed = () => values.referral_closed_status.includes(status.value);
  const sync = () => {
    closing.hidden = !closed();
  };
  status.addEventListener("change", sync);
  sync();
  return {
    nodes: [
      field(name, status, { path: `${path}.status` }),
      day ? field("Status date", day, { path: `${path}.status_date`, hint: "Since when it has this status; today when left empty." }) : null,
      closing,
    ],
    /** The referral body ({} when nothing is chosen); an ApiError at the field when a closed status has no reason. */
    body() {
      const change = {};
      if (!status.value) return change;
      change.status = status.value;
      if (day && day.value) change.status_date = day.value;
      if (closed()) {
        if (!reason.value) throw new ApiError(422, [`${path}.closure_reason is needed to close a referral`]);
        change.closure_reason = reason.value;
      }
      return change;
    },
  };
}

function receivedText(referral) {
  if (!referral.received_date) return null;
  const from = RECEIVED_FROM[referral.received_from];
  return from ? `${referral.received_date} (from ${from})` : referral.received_date;
}

/** The referral's card: what it says, its history, and the form that changes it. */
export function referralSection(patient, values, reload) {
  const referral = (patient.ecm_eligibility_information || {}).referral || {};
  const controls = referralControls(values, referral, { keep: "Choose a status" });
  const form = apiForm(
    "referral",
    [h("div", { class: "filters" }, controls.nodes), h("button", { type: "submit", class: "primary" }, "Save the referral")],
    () => {
      const change = controls.body();
      if (!change.status) throw new ApiError(422, [`${REFERRAL}.status is needed: choose a status`]);
      return call("PUT", `/patients/${patient.id}`, { patient: { ecm_eligibility_information: { referral: change } } });
    },
    { done: reload, success: "Referral saved" },
  );
  return h(
    "section",
    { class: "card", "aria-labelledby": "referral-title" },
    h("h2", { id: "referral-title" }, "Referral"),
    facts([
      ["Received", receivedText(referral)],
      ["Referral status", words(values.referral_status, referral.status)],
      ["Status date", referral.status_date],
      ["Closure reason", words(values.closure_reason, referral.closure_reason) || null],
    ]),
    table(
      "Referral history, newest first",
      [
        ["Status", (e) => words(values.referral_status, e.status)],
        ["Status date", (e) => e.status_date],
        ["Closure reason", (e) => words(values.closure_reason, e.closure_reason)],
        ["Changed", (e) => formatTime(e.changed_at)],
        ["By", (e) => e.changed_by],
      ],
      [...(referral.history || [])].reverse(),
      { empty: "No change recorded yet." },
    ),
    h("h3", {}, "Change the referral"),
    form,
  );
}
