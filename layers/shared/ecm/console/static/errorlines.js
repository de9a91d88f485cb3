// An import's error messages as the file record keeps them ("Row 3: DOB '13/45/1990' is not
// a valid MM-DD-YYYY date"), split into row, column, value and message for tables.

import { table } from "./dom.js";

/**
 * "Row 3: DOB '13/45/1990' is not a valid MM-DD-YYYY date" → {row, column, value, message}.
 * The column is the leading capitalised name before the quoted value or the verb; a message
 * that names no column ("Row 4: matches the same patient as row 2") keeps it whole.
 */
export function parseError(line) {
  const match = /^Row (\d+): (?:Validation failed: )?(.*)$/s.exec(line);
  if (!match) return { row: "", column: "", value: "", message: line };
  const rest = match[2];
  const column = "([A-Z][A-Za-z0-9_ ]{0,60}?)";
  const valued = new RegExp(`^${column} '((?:[^']|'(?! ))*)' (.*)$`, "s").exec(rest);
  if (valued) return { row: match[1], column: valued[1], value: valued[2], message: valued[3] };
  const verb = new RegExp(`^${column} ((?:can't|cannot|must|is|has|should|does not) .*)$`, "s").exec(rest);
  if (verb) return { row: match[1], column: verb[1], value: "", message: verb[2] };
  return { row: match[1], column: "", value: "", message: rest };
}

export function errorLines(record) {
  return (record.import_errors || "").split("\n").filter(Boolean);
}

export function errorTable(lines) {
  return table(
    "Rows with errors",
    [
      ["Row", (e) => e.row],
      ["Column", (e) => e.column],
      ["Value", (e) => e.value],
      ["Message", (e) => e.message],
    ],
    lines.map(parseError),
  );
}
