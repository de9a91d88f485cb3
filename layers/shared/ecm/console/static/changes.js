// What a MIF changed against its plan's previous completed MIF: members added, changed,
// dropped (and unchanged), with the CSV that names each member and each changed field.
// Files from before the comparison, or without a plan, carry none: nothing is shown then.

import { facts, h } from "./dom.js";

/** The comparison as a titled list of counts, or null when the record has none. */
export function changesSummary(record, { dryRun = false } = {}) {
  const changes = record.changes;
  if (!changes) return null;
  const verb = dryRun ? ["Would add", "Would change", "Would leave unchanged", "Would drop"] : ["Added", "Changed", "Unchanged", "Dropped"];
  const counts = [changes.added, changes.changed, changes.unchanged, changes.dropped];
  return h(
    "div",
    { class: "changes", dataset: { changes: "" } },
    h("h3", {}, dryRun ? "Against the plan's last file, this file would" : "Against the plan's last file"),
    facts(verb.map((text, at) => [`${text} (members)`, String(counts[at] ?? 0)])),
    record.changes_file_url
      ? h("p", {}, h("a", { href: record.changes_file_url }, "Download the changes (CSV): each member and each changed field"))
      : null,
  );
}
