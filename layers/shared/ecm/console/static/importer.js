// Import: pick the kind (and a MIF's plan), drop a file, see the dry run, then import.
//
// Every file goes through the upload URL (the API's path for files of any size): the file is
// PUT straight to storage and the import runs in the background, so a 100,000-row workbook
// is never held in a request body. Progress is polled from the file's detail. After a dry
// run, the unread columns can be remembered for the plan and the failed cells corrected in
// place: corrections are sent against the stored file (POST .../{id}/corrections), so the
// file is not uploaded again and its bytes stay as they came.

import { ApiError, call, putFile } from "./api.js";
import { changesSummary } from "./changes.js";
import { correctedFacts, EDITABLE_ROWS, errorRows, errorsSection } from "./corrections.js";
import { announce, facts, field, fill, h, notice } from "./dom.js";
import { errorLines, errorTable } from "./errorlines.js";
import { unmappedPanel } from "./mapping.js";
import { planPicker, rememberColumns } from "./plans.js";

export const KINDS = {
  mifs: {
    title: "Member Information File (MIF)",
    plural: "Member Information Files",
    detail: "mif_file",
    list: "mif_files",
    idField: "mif_file_id",
    takesPlan: true,
  },
  authorizations: {
    title: "Authorization file",
    plural: "Authorization files",
    detail: "authorization_file",
    list: "authorization_files",
    idField: "authorization_file_id",
    takesPlan: false,
  },
};
const ACCEPT = ".csv,.txt,.tsv,.xml,.xlsx,.xlsm,.xls,.ods,.xlsb";
const POLL_MS = 500;

export function renderImport(main) {
  let stopped = false;
  // source: the id of the dry run whose stored file the corrections apply to;
  // corrections: every cell changed since that dry run, by row and column.
  const state = { kind: "mifs", file: null, source: null, corrections: new Map() };
  const status = h("div", { class: "import-status" });
  const plan = planPicker();

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
          plan.element.hidden = !kind.takesPlan;
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
    state.source = null;
    state.corrections.clear();
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
    plan.element,
    drop,
    h(
      "div",
      { class: "actions" },
      check,
      h("span", { class: "hint" }, "A dry run first: nothing is written until you import."),
    ),
  );

  async function dryRun(note) {
    check.disabled = true;
    const corrected = state.corrections.size > 0 && state.source !== null;
    const record = corrected
      ? await correct({ dry_run: true, mode: "valid_rows" }, "Checking again")
      : await run({ dry_run: true, mode: "valid_rows" }, "Checking the file");
    check.disabled = false;
    if (!record) return;
    if (!corrected) state.source = record.id;
    showDryRun(record, note);
  }

  async function commit(mode) {
    check.disabled = true;
    const record =
      state.corrections.size > 0 && state.source !== null
        ? await correct({ dry_run: false, mode }, "Importing")
        : await run({ dry_run: false, mode }, "Importing");
    check.disabled = false;
    if (record) showResult(record);
  }

  /** A progress card in the status region: [bar, line]. */
  function progress(what) {
    const bar = h("progress", { max: 1, value: 0, "aria-label": `${what}: progress` });
    const line = h("p", {}, "Uploading…");
    fill(status, h("div", { class: "progress card" }, h("h2", {}, `${what}…`), bar, line));
    return [bar, line];
  }

  /** Upload the file for one run and follow it to its end; the final record, or null. */
  async function run(options, what) {
    const [bar, line] = progress(what);
    try {
      const code = KINDS[state.kind].takesPlan ? plan.value() : "";
      const upload = await call("POST", `/${state.kind}/uploads`, {
        filename: state.file.name,
        ...(code ? { plan: code } : {}),
        ...options,
      });
      await putFile(upload.upload_url, upload.required_headers, state.file);
      announce(`${what}: file uploaded`);
      return await follow(upload.id, bar, line);
    } catch (error) {
      return failed(error, what);
    }
  }

  /** The stored file again, with the corrected cells; the final record, or null. */
  async function correct(options, what) {
    const [bar, line] = progress(what);
    line.textContent = "Sending the corrections…";
    try {
      const answer = await call("POST", `/${state.kind}/${state.source}/corrections`, {
        corrections: [...state.corrections.values()],
        ...options,
      });
      return await follow(answer[KINDS[state.kind].idField], bar, line);
    } catch (error) {
      return failed(error, what);
    }
  }

  async function follow(id, bar, line) {
    for (;;) {
      if (stopped) return null;
      const record = (await call("GET", `/${state.kind}/${id}`))[KINDS[state.kind].detail];
      showProgress(bar, line, record);
      if (record.status === "completed" || record.status === "failed") return record;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  function failed(error, what) {
    if (stopped) return null;
    const lines = error instanceof ApiError ? error.errors : [String(error)];
    fill(status, notice("error", `${what} did not work.`, lines, { heading: "h2", id: "import-failed-title" }));
    focusHeading(status);
    announce(`${what} did not work`);
    return null;
  }

  /** Store the chosen header → field mappings for the file's plan, then check it again. */
  async function remember(record, columns) {
    await rememberColumns(record.plan, columns);
    const said = Object.entries(columns).map(([header, to]) => `${header} → ${to}`);
    announce(`Remembered for ${record.plan}`);
    await dryRun(notice("success", `Remembered for ${record.plan}; the file was checked again.`, said));
  }

  /** Keep the cells changed in the table, then check the stored file with them. */
  function checkAgain(changed, say) {
    const cells = changed();
    if (!cells.length) {
      fill(say, notice("warning", "Change a value in the table first: only changed cells are sent."));
      return;
    }
    for (const cell of cells) state.corrections.set(`${cell.row}\u0000${cell.column}`, cell);
    dryRun(notice("success", `${cells.length} corrected ${cells.length === 1 ? "cell" : "cells"} sent; the file was checked again.`));
  }

  async function showDryRun(record, note) {
    const lines = errorLines(record);
    const mapping = KINDS[state.kind].takesPlan
      ? await unmappedPanel(record, (columns) => remember(record, columns))
      : null;
    if (record.status === "failed") {
      fill(
        status,
        h(
          "section",
          { class: "card", "aria-labelledby": "dry-run-title" },
          // The failure notice's own heading titles the card and takes the focus: a
          // keyboard or screen reader user lands on what stops the file, read next.
          notice("error", "This file cannot be imported", lines, { heading: "h2", id: "dry-run-title" }),
          note,
          fileFacts(record),
          mapping,
        ),
      );
      focusHeading(status);
      announce("The file cannot be imported");
      return;
    }
    const failedRows = record.records_failed || 0;
    const rows = failedRows && failedRows <= EDITABLE_ROWS ? await errorRows(state.kind, record, lines) : null;
    const actions = [];
    if (failedRows === 0) {
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
      );
    }
    fill(
      status,
      h(
        "section",
        { class: "card", "aria-labelledby": "dry-run-title" },
        h("h2", { id: "dry-run-title", tabindex: "-1" }, "Dry run: what this file would do"),
        note,
        facts([
          ["Plan", record.plan || "None"],
          ["Would create", String(record.would_create ?? 0)],
          ["Would update", String(record.would_update ?? 0)],
          ["Rows with errors", String(failedRows)],
          ["Sheet and header row", sheetText(record)],
          ...correctedFacts(record),
        ]),
        changesSummary(record, { dryRun: true }),
        warnings(record),
        mapping,
        failedRows ? errorsSection(record, lines, rows, checkAgain) : notice("success", "Every row is valid."),
        record.errors_file_url ? h("p", {}, h("a", { href: record.errors_file_url }, "Download every error (CSV)")) : null,
        h("div", { class: "actions" }, actions),
      ),
    );
    focusHeading(status);
    announce(failedRows ? `Dry run done: ${failedRows} rows with errors` : "Dry run done: every row is valid");
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
        ok ? changesSummary(record) : null,
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

/**
 * Move keyboard and screen-reader users to the outcome they waited for: its first heading
 * (every outcome drawn here has one, a failure notice's included), as forms.js keeps focus
 * where a change was made.
 */
function focusHeading(holder) {
  const target = holder.querySelector("h2");
  if (!target) return;
  if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
  target.focus();
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
    ...(record.plan ? [["Plan", record.plan]] : []),
    ...correctedFacts(record),
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

export function links(record) {
  const items = [
    ["Result file (every row and what happened to it)", record.result_file_url],
    ["Errors file", record.errors_file_url],
    ["Changes since the plan's last file (CSV)", record.changes_file_url],
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
