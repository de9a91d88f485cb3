// What the return files need of a member, edited on the patient page and for many patients
// at once: status, enrollment dates, and why and when ECM ended for a terminated member. The
// API records a termination without a reason (the day defaults to today); the console asks
// for both, since a plan's return file has to say why.

import { ApiError } from "./api.js";
import { field, h, select } from "./dom.js";

export const TERMINATED = "terminated_member";
const ELIGIBILITY = "patient.ecm_eligibility_information";

/** The discontinuation reasons as a select, each shown with what the return files say. */
function reasonSelect(reasons, value) {
  return h(
    "select",
    { name: "discontinuation_reason", required: true },
    h("option", { value: "" }, "Choose a reason"),
    Object.entries(reasons).map(([code, text]) => h("option", { value: code, selected: code === value }, text)),
  );
}

/** Today in the browser's zone, as YYYY-MM-DD. */
export function today() {
  const now = new Date();
  now.setMinutes(now.getMinutes() - now.getTimezoneOffset());
  return now.toISOString().slice(0, 10);
}

/**
 * The controls of a status change with its discontinuation (shown only while the status
 * chosen is terminated), and the body part they make. `path` prefixes the data-path of each
 * control, so the API's messages land at them; `keep` is the empty status option's text.
 */
export function statusControls(values, current, { path = ELIGIBILITY, keep = "Not set", name = "Member status" } = {}) {
  const status = select("member_record_status", values.member_record_status, {
    empty: keep,
    value: current.member_record_status,
  });
  const reason = reasonSelect(values.discontinuation_reason, current.discontinuation_reason);
  const day = h("input", {
    type: "date",
    name: "discontinuation_date",
    required: true,
    value: current.discontinuation_date || today(),
  });
  const ending = h(
    "fieldset",
    { class: "ending" },
    h("legend", {}, "Discontinuation"),
    field("Reason", reason, { path: `${path}.discontinuation_reason` }),
    field("Date", day, { path: `${path}.discontinuation_date`, hint: "The day ECM ended." }),
  );
  const sync = () => {
    ending.hidden = status.value !== TERMINATED;
  };
  status.addEventListener("change", sync);
  sync();
  return {
    status,
    nodes: [field(name, status, { path: `${path}.member_record_status` }), ending],
    /** The eligibility body; an ApiError (shown at the field) when the ending is not said. */
    body() {
      const change = {};
      if (status.value) change.member_record_status = status.value;
      if (status.value === TERMINATED) {
        const missing = [];
        if (!reason.value) missing.push(`${path}.discontinuation_reason is needed to terminate a member`);
        if (!day.value) missing.push(`${path}.discontinuation_date is needed to terminate a member`);
        if (missing.length) throw new ApiError(422, missing);
        change.discontinuation_reason = reason.value;
        change.discontinuation_date = day.value;
      }
      return change;
    },
  };
}

/** An enrollment date input; the body gets it only when it is filled in. */
export function dateControl(name, value) {
  return h("input", { type: "date", name, value: value || "" });
}
