// Files: the import history of both kinds, newest first, with status, counts and errors.

import { call } from "./api.js";
import { changesSummary } from "./changes.js";
import { correctedFacts } from "./corrections.js";
import { facts, failure, fill, formatTime, h, label, table } from "./dom.js";
import { errorLines, errorTable } from "./errorlines.js";
import { KINDS, fileName, links } from "./importer.js";

const PER_PAGE = 25;

export async function renderFiles(main) {
  const sections = Object.keys(KINDS).map((kind) => {
    const holder = h("section", { class: "card", "aria-labelledby": `files-${kind}` });
    load(holder, kind, 1);
    return holder;
  });
  fill(main, h("h1", {}, "Import history"), sections);
}

async function load(holder, kind, page) {
  const title = h("h2", { id: `files-${kind}` }, KINDS[kind].plural);
  let data;
  try {
    data = await call("GET", `/${kind}?page=${page}&per_page=${PER_PAGE}`);
  } catch (error) {
    fill(holder, title, failure(error, "the import history"));
    return;
  }
  const files = data[KINDS[kind].list];
  const pagination = data.pagination;
  const details = h("div");
  const grid = table(
    `${KINDS[kind].plural}, page ${pagination.current_page} of ${Math.max(pagination.total_pages, 1)}`,
    [
      ["Id", (f) => String(f.id)],
      ["File", (f) => fileName(f)],
      ["Uploaded", (f) => formatTime(f.created_at)],
      ["Status", (f) => h("span", { class: "status" }, statusText(f))],
      ["Rows", (f) => (f.rows_total === null ? "—" : String(f.rows_total))],
      ["Created", (f) => String(f.created_count)],
      ["Updated", (f) => String(f.updated_count)],
      ["Errors", (f) => String(f.records_failed || errorLines(f).length)],
      [
        "Details",
        (f) =>
          h(
            "button",
            {
              type: "button",
              class: "link",
              onclick: () => fill(details, fileDetails(kind, f)),
            },
            `Show file ${f.id}`,
          ),
      ],
    ],
    files,
    { empty: "No files imported yet." },
  );
  const pager = h(
    "div",
    { class: "pager" },
    h("button", { type: "button", disabled: page <= 1, onclick: () => load(holder, kind, page - 1) }, "Previous"),
    h("span", {}, `Page ${pagination.current_page} of ${Math.max(pagination.total_pages, 1)}`),
    h(
      "button",
      { type: "button", disabled: page >= pagination.total_pages, onclick: () => load(holder, kind, page + 1) },
      "Next",
    ),
  );
  fill(holder, title, grid, files.length ? pager : null, details);
}

function statusText(file) {
  const parts = [label(file.status)];
  if (file.dry_run) parts.push("(dry run)");
  if (file.status === "processing" && file.stage) parts.push(`— ${label(file.stage)}`);
  return parts.join(" ");
}

function fileDetails(kind, file) {
  const lines = errorLines(file);
  return h(
    "div",
    { class: "file-details", tabindex: "-1" },
    h("h3", {}, `File ${file.id}: ${fileName(file)}`),
    h("p", {}, `${statusText(file)}; mode ${label(file.mode)}; source ${file.source_type}.`),
    file.plan || file.corrected_from
      ? facts([...(file.plan ? [["Plan", file.plan]] : []), ...correctedFacts(file)])
      : null,
    changesSummary(file, { dryRun: file.dry_run }),
    file.warnings && file.warnings.length ? h("ul", {}, file.warnings.map((w) => h("li", {}, w))) : null,
    lines.length ? errorTable(lines) : h("p", { class: "empty" }, "No errors."),
    links(file),
  );
}
