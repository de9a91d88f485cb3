// Exports: a plan's Return Transmission (RTF) or Outreach Tracking (OTF) file for a month,
// followed to its end; its rows and the rows it left out (each with its reasons and a link
// to the patient), the download, and every export made so far.

import { ApiError, call } from "./api.js";
import { facts, failure, field, fill, formatTime, h, label, notice, pageTitle, select, table } from "./dom.js";
import { choices } from "./lookups.js";

const POLL_MS = 500;
const PER_PAGE = 25;
const KIND_NAMES = { rtf: "Return Transmission File (RTF)", otf: "Outreach Tracking File (OTF)" };

/** The month before this one, as YYYY-MM: the month a return file usually reports. */
function lastMonth() {
  const now = new Date();
  const month = new Date(now.getFullYear(), now.getMonth() - 1, 1);
  return `${month.getFullYear()}-${String(month.getMonth() + 1).padStart(2, "0")}`;
}

export async function renderExports(main) {
  let stopped = false;
  let values, plans;
  try {
    [values, { plans }] = await Promise.all([choices(), call("GET", "/plans")]);
  } catch (error) {
    fill(main, pageTitle("Return files"), failure(error, "the exports"));
    return null;
  }
  const status = h("div", { class: "export-status" });
  const history = h("section", { class: "card", "aria-labelledby": "exports-history" });

  const kind = select("kind", values.export_kind, { value: "rtf" });
  for (const option of kind.options) option.textContent = KIND_NAMES[option.value] || option.value;
  const plan = h("input", { type: "text", name: "plan", list: "plan-codes", autocomplete: "off", spellcheck: "false" });
  if (plans.length === 1) plan.value = plans[0].code;
  const codes = h(
    "datalist",
    { id: "plan-codes" },
    plans.map((p) => h("option", { value: p.code }, p.name)),
  );
  const period = h("input", { type: "month", name: "period", value: lastMonth() });
  const format = select("format", values.export_format, { value: "csv" });
  for (const option of format.options) option.textContent = option.value.toUpperCase();
  const make = h("button", { type: "submit", class: "primary" }, "Make the file");

  const form = h(
    "form",
    {
      class: "card",
      novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        run();
      },
    },
    h(
      "div",
      { class: "filters" },
      field("File", kind),
      field("Plan", plan, { hint: plans.length ? "The plan's code." : "The plan's code, as its MIFs name it." }),
      codes,
      field("Month", period, { hint: "YYYY-MM" }),
      field("Format", format),
    ),
    h("div", { class: "actions" }, make),
  );

  async function run() {
    const code = plan.value.trim().toLowerCase();
    if (!code) {
      fill(status, notice("error", "Enter the plan's code."));
      plan.focus();
      return;
    }
    make.disabled = true;
    const line = h("p", {}, "Starting…");
    fill(status, h("div", { class: "progress card" }, h("h2", {}, "Making the file…"), line));
    try {
      const started = await call("POST", "/exports", {
        export: { kind: kind.value, plan: code, period: period.value, format: format.value },
      });
      for (;;) {
        if (stopped) return;
        const { export: record } = await call("GET", `/exports/${started.export_id}`);
        line.textContent = `${label(record.status)}: ${record.rows_processed} rows so far`;
        if (record.status === "completed" || record.status === "failed") {
          showResult(status, record);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } catch (error) {
      if (stopped) return;
      const lines = error instanceof ApiError ? error.errors : [String(error)];
      fill(status, h("section", { class: "card" }, h("h2", { tabindex: "-1" }, "The file was not made"), notice("error", "The API refused it.", lines)));
      status.querySelector("h2").focus();
    } finally {
      make.disabled = false;
    }
    loadHistory(history, status, 1);
  }

  fill(main, pageTitle("Return files"), form, status, history);
  loadHistory(history, status, 1);
  return () => {
    stopped = true;
  };
}

function rows(count) {
  return count === 1 ? "1 row" : `${count} rows`;
}

function exportTitle(record) {
  return `${record.kind.toUpperCase()} of ${record.plan} for ${record.period}`;
}

/** One export: its counts, the download, and the rows left out with their reasons. */
function showResult(holder, record) {
  const ok = record.status === "completed";
  const skipped = record.skipped || [];
  fill(
    holder,
    h(
      "section",
      { class: "card", "aria-labelledby": `export-${record.id}` },
      h("h2", { id: `export-${record.id}`, tabindex: "-1" }, `${exportTitle(record)}: ${ok ? "done" : "failed"}`),
      ok
        ? notice("success", `${rows(record.row_count)} written, ${rows(record.skipped_count)} skipped.`)
        : notice("error", "The file was not made.", record.errors || []),
      record.warnings && record.warnings.length ? notice("warning", "Warnings", record.warnings) : null,
      facts([
        ["File", record.file_name],
        ["Rows", record.row_count === null ? "—" : String(record.row_count)],
        ["Skipped", record.skipped_count === null ? "—" : String(record.skipped_count)],
        ["Production date", record.production_date],
        ["SHA-256", record.sha256],
      ]),
      downloads(record),
      skipped.length
        ? table(
            "Rows left out, and why",
            [
              ["Patient", (s) => h("a", { href: `#/patients/${s.patient_id}` }, `Patient ${s.patient_id}`)],
              ["Activity", (s) => (s.activity_id ? String(s.activity_id) : "")],
              ["Reasons", (s) => s.reasons.join("; ")],
            ],
            skipped,
          )
        : ok
          ? h("p", {}, "No row was left out.")
          : null,
      skipped.length < (record.skipped_count || 0)
        ? h("p", { class: "hint" }, `The first ${skipped.length} are shown; the skipped rows file has all ${record.skipped_count}.`)
        : null,
    ),
  );
  holder.querySelector("h2").focus();
}

function downloads(record) {
  const items = [
    [`Download ${record.file_name || "the file"}`, record.file_url],
    ["Every skipped row (CSV)", record.skipped_file_url],
  ].filter(([, url]) => url);
  if (!items.length) return null;
  return h("ul", { class: "links" }, items.map(([text, url]) => h("li", {}, h("a", { href: url }, text))));
}

async function loadHistory(holder, details, page) {
  const title = h("h2", { id: "exports-history" }, "Exports made");
  let data;
  try {
    data = await call("GET", `/exports?page=${page}&per_page=${PER_PAGE}`);
  } catch (error) {
    fill(holder, title, failure(error, "the exports"));
    return;
  }
  const { exports, pagination } = data;
  const pages = Math.max(pagination.total_pages, 1);
  const open = async (record) => {
    try {
      showResult(details, (await call("GET", `/exports/${record.id}`)).export);
    } catch (error) {
      fill(details, failure(error, "this export"));
    }
  };
  fill(
    holder,
    title,
    table(
      `Exports, newest first, page ${pagination.current_page} of ${pages}`,
      [
        ["Id", (e) => String(e.id)],
        ["File", (e) => exportTitle(e)],
        ["Format", (e) => e.format.toUpperCase()],
        ["Status", (e) => label(e.status)],
        ["Rows", (e) => (e.row_count === null ? "—" : String(e.row_count))],
        ["Skipped", (e) => (e.skipped_count === null ? "—" : String(e.skipped_count))],
        ["Made", (e) => formatTime(e.created_at)],
        ["By", (e) => e.created_by],
        ["Details", (e) => h("button", { type: "button", class: "link", onclick: () => open(e) }, `Show export ${e.id}`)],
      ],
      exports,
      { empty: "No return file made yet." },
    ),
    exports.length
      ? h(
          "div",
          { class: "pager" },
          h("button", { type: "button", disabled: page <= 1, onclick: () => loadHistory(holder, details, page - 1) }, "Previous"),
          h("span", {}, `Page ${pagination.current_page} of ${pages}`),
          h("button", { type: "button", disabled: page >= pages, onclick: () => loadHistory(holder, details, page + 1) }, "Next"),
        )
      : null,
  );
}
