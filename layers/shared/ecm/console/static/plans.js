// Plans: each health plan's record — the headers of its MIFs mapped to our fields, whether its
// MIFs list its whole roster, and how its return files are laid out.

import { ApiError, call } from "./api.js";
import { facts, failure, field, fill, formatTime, h, table } from "./dom.js";

/** The plans, by code; [] when the token may not read them or the call fails. */
export async function planList() {
  try {
    return (await call("GET", "/plans")).plans;
  } catch {
    return [];
  }
}

/** What a plan's PUT takes, from the plan as GET gives it (a PUT stores the plan whole). */
function writable(plan) {
  const { name, mif_columns, full_roster, mcp_name, mcp_identifier, rtf, otf } = plan;
  return { name, mif_columns, full_roster, mcp_name, mcp_identifier, rtf, otf };
}

/**
 * Add header → field mappings to a plan's mif_columns and store the plan; a plan with no
 * record yet is created under its code. Resolves to the stored plan.
 */
export async function rememberColumns(code, columns) {
  let plan;
  try {
    plan = writable((await call("GET", `/plans/${encodeURIComponent(code)}`)).plan);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    plan = { name: code, mif_columns: {} };
  }
  plan.mif_columns = { ...(plan.mif_columns || {}), ...columns };
  return (await call("PUT", `/plans/${encodeURIComponent(code)}`, { plan })).plan;
}

export async function renderPlans(main) {
  const holder = h("div", {}, h("p", { class: "empty" }, "Loading…"));
  fill(main, h("h1", {}, "Health plans"), holder);
  let plans;
  try {
    plans = (await call("GET", "/plans")).plans;
  } catch (error) {
    fill(holder, failure(error, "the plans"));
    return;
  }
  if (!plans.length) {
    fill(
      holder,
      h(
        "p",
        { class: "empty" },
        "No plan has a record yet. Importing a MIF with a plan and remembering one of its columns creates one.",
      ),
    );
    return;
  }
  fill(holder, plans.map(planCard));
}

function planCard(plan) {
  const titleId = `plan-${plan.code}`;
  const changed = plan.updated_by
    ? `${formatTime(plan.updated_at)} by ${plan.updated_by}`
    : formatTime(plan.updated_at);
  return h(
    "section",
    { class: "card", "aria-labelledby": titleId, dataset: { plan: plan.code } },
    h("h2", { id: titleId }, `${plan.name} (${plan.code})`),
    facts([
      ["Code", plan.code],
      ["Every MIF lists the whole roster", plan.full_roster ? "Yes" : "No"],
      ["Name in return files", plan.mcp_name || "—"],
      ["Identifier in return files", plan.mcp_identifier || "—"],
      ["Last changed", changed],
    ]),
    table(
      `Headers of ${plan.code}'s MIFs`,
      [
        ["Header in the file", ([header]) => header],
        ["Field it fills", ([, field]) => field],
      ],
      Object.entries(plan.mif_columns || {}).sort(([a], [b]) => a.localeCompare(b)),
      { empty: "No header mapped: the names we ship read this plan's files." },
    ),
    layout("Return Transmission File (RTF)", plan.code, plan.rtf),
    layout("Outreach Tracking File (OTF)", plan.code, plan.otf),
  );
}

function layout(title, code, kind) {
  if (!kind) return [h("h3", {}, title), h("p", {}, "The DHCS template as it is.")];
  const codes = Object.entries(kind.codes || {}).flatMap(([field, values]) =>
    Object.entries(values).map(([ours, theirs]) => ({ field, ours, theirs })),
  );
  return [
    h("h3", {}, title),
    facts([
      ["File name", kind.file_name || "The template's"],
      ["Date format", kind.date_format || "The template's"],
      ["Period format", kind.period_format || "The template's"],
      ["Delimiter", kind.delimiter ? delimiterName(kind.delimiter) : "The template's"],
      ["Header row", kind.header === null || kind.header === undefined ? "The template's" : kind.header ? "Yes" : "No"],
    ]),
    kind.columns
      ? table(`${code} ${title}: columns`, [
          ["Header", (c) => c.header],
          ["Field", (c) => c.field || ""],
          ["Fixed value", (c) => c.value ?? ""],
        ], kind.columns)
      : h("p", {}, "The template's columns."),
    codes.length
      ? table(`${code} ${title}: codes`, [
          ["Code table", (c) => c.field],
          ["Our value", (c) => c.ours],
          ["Written as", (c) => c.theirs],
        ], codes)
      : null,
  ];
}

function delimiterName(delimiter) {
  return { ",": "Comma", "|": "Pipe (|)", "\t": "Tab" }[delimiter] || delimiter;
}

/**
 * The import's choice of health plan: the plans with a record, or a typed code. ``value()`` is
 * the code to send ("" for none); the API checks the code's form.
 */
export function planPicker() {
  const NEW = "\u0000new";
  // The select lists the plans with a record (GET /plans); a code only files have named so
  // far (imported through the API) has none and no list of its own: it is typed here.
  const another = h("option", { value: NEW }, "Another plan (type its code)…");
  const choice = h("select", { name: "plan" }, h("option", { value: "" }, "No plan"), another);
  const code = h("input", { type: "text", name: "new_plan", maxlength: 40, autocomplete: "off", spellcheck: "false" });
  const newField = h(
    "div",
    { hidden: true },
    field("Plan's code", code, {
      hint: "A new plan, or one earlier files named without a plan record: 1–40 letters, digits, '-' or '_'; case does not matter.",
    }),
  );
  choice.addEventListener("change", () => {
    newField.hidden = choice.value !== NEW;
  });
  planList().then((plans) => {
    another.before(...plans.map((p) => h("option", { value: p.code }, `${p.name} (${p.code})`)));
  });
  const element = h(
    "div",
    { class: "plan-pick" },
    field("Health plan", choice, { hint: "The plan that sent the file: its remembered headers read the file, and its return files count it." }),
    newField,
  );
  return { element, value: () => (choice.value === NEW ? code.value.trim().toLowerCase() : choice.value) };
}
