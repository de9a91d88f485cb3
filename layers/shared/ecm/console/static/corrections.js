// The dry run's errors, correctable in place: each cell an error names shows the value the
// file holds and an input for the corrected one. "Check again" sends only the cells whose
// value was changed, as corrections of the stored file (nothing is uploaded again). The
// cells come from GET /{kind}/{id}/errors (every error of the first 500 failed rows): the
// file's record lists the first 100 messages only.

import { call } from "./api.js";
import { h, notice, table } from "./dom.js";
import { errorTable, parseError } from "./errorlines.js";

/** At most this many failed rows are corrected in the page; beyond, the errors CSV. */
export const EDITABLE_ROWS = 500;

/** "... and 212 more errors": the record lists the first messages only. */
export function moreErrors(lines) {
  for (const line of lines) {
    const match = /^\.\.\. and (\d+) more/.exec(line);
    if (match) return Number(match[1]);
  }
  return 0;
}

const MORE = /^\.\.\. and \d+ more/;

/**
 * The failed rows' errors as {entries: [{row, column, value, message}], more}: from the
 * errors route, else (a stack without it) the record's first messages, `more` saying how
 * many the list leaves out.
 */
export async function errorRows(kind, record, lines) {
  try {
    const { errors, total } = await call("GET", `/${kind}/${record.id}/errors`);
    return { entries: errors, more: Math.max(total - new Set(errors.map((e) => e.row)).size, 0) };
  } catch {
    return { entries: lines.filter((line) => !MORE.test(line)).map(parseError), more: moreErrors(lines) };
  }
}

function key(row, column) {
  return `${row}\u0000${column}`;
}

/**
 * The errors table with an input in each cell an error names (one per row and column), and
 * ``changed()``: the corrections [{row, column, value}] of the inputs whose value differs
 * from the file's.
 */
export function editableErrors(entries) {
  const inputs = new Map();
  const cell = (e) => {
    if (!e.row || !e.column || inputs.has(key(e.row, e.column))) return e.value;
    const input = h("input", {
      type: "text",
      name: "correction",
      value: e.value,
      "aria-label": `Row ${e.row}, ${e.column}: corrected value`,
      dataset: { row: String(e.row), column: e.column, original: e.value },
    });
    inputs.set(key(e.row, e.column), input);
    return [h("span", { class: "cell-value" }, e.value), input];
  };
  const view = table(
    "Rows with errors",
    [
      ["Row", (e) => e.row],
      ["Column", (e) => e.column],
      ["Value", cell],
      ["Message", (e) => e.message],
    ],
    entries,
  );
  const changed = () =>
    [...inputs.values()]
      .filter((input) => input.value !== input.dataset.original)
      .map((input) => ({ row: Number(input.dataset.row), column: input.dataset.column, value: input.value }));
  return { view, changed };
}

/**
 * The failed rows: correctable in place up to EDITABLE_ROWS rows (`rows`: errorRows'
 * answer), "Check again" sending the changed cells; beyond that, read only (the record's
 * first messages), with the errors CSV to correct the file from.
 */
export function errorsSection(record, lines, rows, checkAgain) {
  const failedRows = record.records_failed || 0;
  if (failedRows > EDITABLE_ROWS) {
    return [
      notice("warning", `${failedRows} rows have errors: too many to correct here (up to ${EDITABLE_ROWS}).`, [
        "Download every error (CSV), correct the file and check it again.",
      ]),
      errorTable(lines),
    ];
  }
  const { view, changed } = editableErrors(rows.entries);
  const say = h("div", { role: "status" });
  const more = rows.more;
  return h(
    "div",
    { class: "corrections" },
    h("p", {}, "Correct a value in the table, then check again: only the cells you change are sent, and the file as it came is kept."),
    more
      ? notice("info", `The list shows the first failed rows; ${more} more are in the errors CSV.`, [
          "Correct these and check again to see the rest.",
        ])
      : null,
    view,
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => checkAgain(changed, say) }, "Check again")),
    say,
  );
}

/** A file made from another with corrected cells says so. */
export function correctedFacts(record) {
  if (!record.corrected_from) return [];
  const count = (record.corrections || []).length;
  return [["Corrected from", `file ${record.corrected_from} (${count} ${count === 1 ? "cell" : "cells"} corrected)`]];
}
