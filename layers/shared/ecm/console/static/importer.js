// Import: pick the kind, drop a file, see the dry run, then import.
//
// Every file goes through the upload URL (the API's path for files of any size): the file is
// PUT straight to storage and the import runs in the background, so a 100,000-row workbook
// is never held in a request body. Progress is polled from the file's detail.

import { ApiError, call, putFile } from "./api.js";
import { announce, facts, field, fill, h, notice, table } from "./dom.js";

export const KINDS = {
  mifs: {
    title: "Member Information File (MIF)",
    plural: "Member Information Files",
    detail: "mif_file",
    list: "mif_files",
  },
  authorizations: {
    title: "Authorization file",
    plural: "Authorization files",
    detail: "authorization_file",
    list: "authorization_files",
  },
};
const ACCEPT = ".csv,.txt,.tsv,.xml,.xlsx,.xlsm,.xls,.ods,.xlsb";
const POLL_MS = 500;

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

export function renderImport(main) {
  let stopped = false;
  const state = { kind: "mifs", file: null };
  const status = h("div", { class: "import-status" });

  const kindChoices = Object.entries(KINDS).map(([value, kind]) =>
    h(
      "label",
      { class: "choice" },
      h("input", {
        type: "radio",
        name: "kind",
        value,
        checked: value === state.kind,
        onchange: () => {
          state.kind = value;
          fill(status);
        },
      }),
      kind.title,
    ),
  );
  const fileInput = h("input", {
    type: "file",
    name: "file",
    accept: ACCEPT,
    onchange: () => choose(fileInput.files[0]),
  });
  const chosen = h("p", { class: "hint", "aria-live": "polite" }, "No file chosen yet.");
  const drop = h(
    "div",
    {
      class: "drop",
      ondragover: (event) => {
        event.preventDefault();
        drop.classList.add("over");
      },
      ondragleave: () => drop.classList.remove("over"),
      ondrop: (event) => {
        event.preventDefault();
        drop.classList.remove("over");
        if (event.dataTransfer.files.length) choose(event.dataTransfer.files[0]);
      },
    },
    h("p", {}, "Drop a file here, or choose one:"),
    field("File", fileInput, {
      hint: "CSV, tab- or semicolon-separated text, XML, XLSX, XLSM or XLS.",
    }),
    chosen,
  );
  const check = h("button", { type: "submit", class: "primary", disabled: true }, "Check the file");

  function choose(file) {
    state.file = file || null;
    check.disabled = !state.file;
    chosen.textContent = state.file
      ? `Chosen: ${state.file.name} (${formatSize(state.file.size)})`
      : "No file chosen yet.";
    fill(status);
  }

  const form = h(
    "form",
    {
      class: "card",
      novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        if (state.file) dryRun();
      },
    },
    h("fieldset", {}, h("legend", {}, "What kind of file?"), kindChoices),
    drop,
    h(
      "div",
      { class: "actions" },
      check,
      h("span", { class: "hint" }, "A dry run first: nothing is written until you import."),
    ),
  );

  async function dryRun() {
    check.disabled = true;
    const record = await run({ dry_run: true, mode: "valid_rows" }, "Checking the file");
    check.disabled = false;
    if (record) showDryRun(record);
  }

  async function commit(mode) {
    check.disabled = true;
    const record = await run({ dry_run: false, mode }, "Importing");
    check.disabled = false;
    if (record) showResult(record);
  }

  /** Upload the file for one run and follow it to its end; the final record, or null. */
  async function run(options, what) {
    const kind = KINDS[state.kind];
    const bar = h("progress", { max: 1, value: 0, "aria-label": `${what}: progress` });
    const line = h("p", {}, "Uploading…");
    fill(status, h("div", { class: "progress card" }, h("h2", {}, `${what}…`), bar, line));
    try {
      const upload = await call("POST", `/${state.kind}/uploads`, {
        filename: state.file.name,
        ...options,
      });
      await putFile(upload.upload_url, upload.required_headers, state.file);
      announce(`${what}: file uploaded`);
      for (;;) {
        if (stopped) return null;
        const record = (await call("GET", `/${state.kind}/${upload.id}`))[kind.detail];
        showProgress(bar, line, record);
        if (record.status === "completed" || record.status === "failed") return record;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } catch (error) {
      if (stopped) return null;
      const lines = error instanceof ApiError ? error.errors : [String(error)];
      fill(status, notice("error", `${what} did not work.`, lines));
      return null;
    }
  }

  function showDryRun(record) {
    const lines = errorLines(record);
    if (record.status === "failed") {
      fill(status, notice("error", "This file cannot be imported.", lines), fileFacts(record));
      announce("The file cannot be imported");
      return;
    }
    const failed = record.records_failed || 0;
    const actions = [];
    if (failed === 0) {
      actions.push(
        h("button", { type: "button", class: "primary", onclick: () => commit("all_or_nothing") }, "Import"),
      );
    } else {
      const valid = (record.would_create || 0) + (record.would_update || 0);
      actions.push(
        h(
          "button",
          {
            type: "button",
            class: "primary",
            disabled: valid === 0,
            onclick: () => commit("valid_rows"),
          },
          `Import the ${valid} valid rows`,
        ),
        h("span", { class: "hint" }, "Or fix the rows below and check the file again."),
      );
    }
    fill(
      status,
      h(
        "section",
        { class: "card", "aria-labelledby": "dry-run-title" },
        h("h2", { id: "dry-run-title", tabindex: "-1" }, "Dry run: what this file would do"),
        facts([
          ["Would create", String(record.would_create ?? 0)],
          ["Would update", String(record.would_update ?? 0)],
          ["Rows with errors", String(failed)],
          ["Sheet and header row", sheetText(record)],
        ]),
        warnings(record),
        failed ? errorTable(lines) : notice("success", "Every row is valid."),
        record.errors_file_url ? h("p", {}, h("a", { href: record.errors_file_url }, "Download every error (CSV)")) : null,
        h("div", { class: "actions" }, actions),
      ),
    );
    focusHeading(status);
    announce(failed ? `Dry run done: ${failed} rows with errors` : "Dry run done: every row is valid");
  }

  function showResult(record) {
    const lines = errorLines(record);
    const ok = record.status === "completed";
    fill(
      status,
      h(
        "section",
        { class: "card", "aria-labelledby": "result-title" },
        h("h2", { id: "result-title", tabindex: "-1" }, ok ? "Import finished" : "Import failed"),
        ok
          ? notice("success", `Imported: ${record.created_count} created, ${record.updated_count} updated.`)
          : notice("error", "Nothing was written: the import was rolled back.", lines),
        fileFacts(record),
        ok && lines.length ? errorTable(lines) : null,
        links(record),
      ),
    );
    focusHeading(status);
    announce(ok ? "Import finished" : "Import failed");
  }

  fill(main, h("h1", {}, "Import a file"), form, status);
  return () => {
    stopped = true;
  };
}

/** Move keyboard and screen-reader users to the outcome they waited for. */
function focusHeading(holder) {
  const heading = holder.querySelector("h2");
  if (heading) heading.focus();
}

function showProgress(bar, line, record) {
  const total = record.rows_total || 0;
  const done = record.rows_processed || 0;
  if (total > 0) {
    bar.max = total;
    bar.value = Math.min(done, total);
  } else {
    bar.removeAttribute("value"); // indeterminate until the rows are counted
  }
  const stage = record.stage ? record.stage.replace(/_/g, " ") : record.status;
  line.textContent = total ? `${stage}: ${done} of ${total} rows` : `${stage}`;
}

function fileFacts(record) {
  return facts([
    ["File", fileName(record)],
    ["Status", record.status],
    ["Rows", record.rows_total === null ? "—" : String(record.rows_total)],
    ["Created", String(record.created_count ?? 0)],
    ["Updated", String(record.updated_count ?? 0)],
    ["Rows with errors", String(record.records_failed ?? 0)],
    ["Sheet and header row", sheetText(record)],
  ]);
}

function sheetText(record) {
  if (record.header_row === null || record.header_row === undefined) return "—";
  const row = `header on row ${record.header_row}`;
  return record.sheet_name ? `${record.sheet_name}, ${row}` : row;
}

function warnings(record) {
  const list = record.warnings || [];
  return list.length ? notice("warning", "Warnings", list) : null;
}

/** The file's own name, then the one the service gave it: "Dec.csv (mif_20261207_131556.csv)". */
export function fileName(record) {
  if (!record.original_filename) return record.filename || "—";
  if (!record.filename) return record.original_filename;
  return `${record.original_filename} (${record.filename})`;
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

export function links(record) {
  const items = [
    ["Result file (every row and what happened to it)", record.result_file_url],
    ["Errors file", record.errors_file_url],
    ["The original file", record.file_url],
  ].filter(([, url]) => url);
  if (!items.length) return null;
  return h(
    "ul",
    { class: "links" },
    items.map(([text, url]) => h("li", {}, h("a", { href: url }, text))),
  );
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
