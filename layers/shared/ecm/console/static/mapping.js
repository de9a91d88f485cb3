// After a MIF's dry run: the columns no field is known by, each with the fields it may be,
// and a choice of field for each that is remembered for the file's plan (its mif_columns),
// so this file — checked again — and every later file of the plan read the column.

import { choices } from "./lookups.js";
import { fill, h, notice, table } from "./dom.js";

function percent(score) {
  return `${Math.round(Number(score) * 100)}%`;
}

/**
 * The unmapped columns of a record, or null when there are none. ``remember(columns)`` is
 * called with {header: field} for the columns given a field; it stores them and checks the
 * file again (or throws, and the panel says why).
 */
export async function unmappedPanel(record, remember) {
  const unmapped = record.unmapped_columns || [];
  if (!unmapped.length) return null;
  const fields = (await choices().catch(() => ({}))).mif_field || [];
  const status = h("div", { class: "mapping-status" });
  const selects = unmapped.map((entry) => {
    const suggested = (entry.suggestions || []).map((s) => s.field);
    const others = fields.filter((f) => !suggested.includes(f));
    return h(
      "select",
      { name: "field", "aria-label": `Field for the column ${entry.column}`, dataset: { column: entry.column } },
      h("option", { value: "" }, "Leave it unread"),
      (entry.suggestions || []).map((s, at) =>
        h("option", { value: s.field, selected: at === 0 }, `${s.field} (suggested, ${percent(s.score)} alike)`),
      ),
      others.map((f) => h("option", { value: f }, f)),
    );
  });
  const rows = unmapped.map((entry, at) => ({ entry, select: selects[at] }));
  const grid = table(
    "Columns no field is known by",
    [
      ["Column in the file", (r) => r.entry.column],
      [
        "Suggestions",
        (r) =>
          r.entry.suggestions && r.entry.suggestions.length
            ? r.entry.suggestions.map((s) => `${s.field} (${percent(s.score)})`).join(", ")
            : "None plausible",
      ],
      ["Field it fills", (r) => r.select],
    ],
    rows,
  );
  const plan = record.plan;
  const action = plan
    ? h(
        "button",
        {
          type: "button",
          class: "primary",
          onclick: async (event) => {
            const columns = {};
            for (const select of selects) if (select.value) columns[select.dataset.column] = select.value;
            if (!Object.keys(columns).length) {
              fill(status, notice("warning", "Choose a field for at least one column first."));
              return;
            }
            event.target.disabled = true;
            try {
              await remember(columns);
            } catch (error) {
              event.target.disabled = false;
              const lines = error && error.errors ? error.errors : [String(error)];
              fill(status, notice("error", `The mapping was not saved for ${plan}.`, lines));
              status.querySelector(".notice").setAttribute("tabindex", "-1");
              status.querySelector(".notice").focus();
            }
          },
        },
        `Remember for ${plan} and check again`,
      )
    : h("p", { class: "hint" }, "Choose the file's health plan above and check the file again to remember a column for the plan.");
  return h(
    "section",
    { class: "unmapped", "aria-labelledby": "unmapped-title" },
    h("h3", { id: "unmapped-title" }, "Columns this file has that no field is known by"),
    h("p", {}, "Their values are not imported into our fields. Pick the field each one fills and remember it: every later file of the plan then reads it."),
    grid,
    h("div", { class: "actions" }, action),
    status,
  );
}
