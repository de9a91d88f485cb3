// A patient's page, what the plan's MIFs say beyond our fields: the columns kept from the
// latest MIF that had them, and whether the plan's latest MIF still lists the member.
// A record without them (older imports, no plan) shows nothing.

import { h, notice, table } from "./dom.js";

/** The "not in the latest MIF" notice and the kept columns, each null when absent. */
export function planFacts(patient) {
  const eligibility = patient.ecm_eligibility_information || {};
  return [droppedNotice(eligibility), keptColumns(eligibility)];
}

function droppedNotice(eligibility) {
  if (eligibility.in_latest_mif !== false) return null;
  const file = eligibility.dropped_in_mif_file_id;
  return notice("warning", "Not in the latest MIF", [
    file
      ? `The plan's MIF file ${file} did not list this member; nothing else about them changed.`
      : "The plan's latest MIF did not list this member; nothing else about them changed.",
    "Decide whether they stay: a later file that lists them again clears this.",
  ]);
}

function keptColumns(eligibility) {
  const kept = Object.entries(eligibility.plan_fields || {});
  if (!kept.length) return null;
  const plan = eligibility.plan ? `${eligibility.plan}'s` : "the plan's";
  return h(
    "section",
    { class: "card", "aria-labelledby": "plan-fields-title" },
    h("h2", { id: "plan-fields-title" }, "Other columns of the plan's MIF"),
    h("p", { class: "hint" }, `Kept from ${plan} latest MIF that had each column.`),
    table(
      "Columns kept from the plan's MIF",
      [
        ["Column", ([header]) => header],
        ["Value", ([, value]) => value],
      ],
      kept,
    ),
  );
}
