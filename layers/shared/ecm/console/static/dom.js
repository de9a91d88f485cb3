import { ApiError } from "./api.js";

// Building the page without innerHTML: every value from the API is set as text, never parsed
// as markup (names and file contents are data, not HTML).

/** An element: h("p", {class: "x", onclick: fn}, "text", child, [more]). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
/** A unique id for label/aria wiring. */
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled control: the label, the control, and a slot for its error message. */
export function field(label, control, { hint, path } = {}) {
  control.id = control.id || nextId("f");
  const error = h("p", { class: "field-error", id: nextId("err"), hidden: true });
  const hintEl = hint ? h("p", { class: "hint", id: nextId("hint") }, hint) : null;
  const described = [hintEl && hintEl.id, error.id].filter(Boolean).join(" ");
  control.setAttribute("aria-describedby", described);
  if (path) control.dataset.path = path;
  return h("div", { class: "field" }, h("label", { for: control.id }, label), hintEl, control, error);
}

/** A <select> of values, with an optional empty first option. */
export function select(name, values, { empty, value } = {}) {
  const options = [];
  if (empty !== undefined) options.push(h("option", { value: "" }, empty));
  for (const v of values) options.push(h("option", { value: v, selected: v === value }, label(v)));
  return h("select", { name }, options);
}

/** "continuing_member" → "Continuing member". */
export function label(value) {
  if (value === null || value === undefined || value === "") return "";
  const text = String(value).replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A table from rows and [heading, cell(row)] columns. */
export function table(caption, columns, rows, { empty = "Nothing yet." } = {}) {
  if (!rows.length) return h("p", { class: "empty", dataset: { table: caption } }, empty);
  // A wrapper that may scroll sideways: reachable by keyboard, and named by its caption.
  const captionId = nextId("caption");
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": captionId },
    h(
      "table",
      {},
      h("caption", { id: captionId }, caption),
      h("thead", {}, h("tr", {}, columns.map(([head]) => h("th", { scope: "col" }, head)))),
      h(
        "tbody",
        {},
        rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row) ?? "")))),
      ),
    ),
  );
}

/** Key/value pairs as a description list. */
export function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.map(([key, value]) => [h("dt", {}, key), h("dd", {}, value ?? "—")]),
  );
}

/** A message box: kind is "error", "warning", "info" or "success". */
export function notice(kind, title, lines = []) {
  return h(
    "div",
    { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("p", { class: "notice-title" }, title),
    lines.length ? h("ul", {}, lines.map((line) => h("li", {}, line))) : null,
  );
}

/** A page's heading, which takes focus when the page opens (never the page's body). */
export function pageTitle(text) {
  return h("h1", { tabindex: "-1" }, text);
}

/** Say something to screen readers without moving focus. */
export function announce(text) {
  const el = document.getElementById("announce");
  if (el) el.textContent = text;
}

export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** What a view shows when a call fails: a 403 says plainly this token may not see it. */
export function failure(error, what) {
  if (error instanceof ApiError && error.status === 403) {
    return notice("warning", `Your token may not see ${what}.`, [
      `The API answered: ${error.errors.join(" ")}`,
      "Ask an administrator for an admin token.",
    ]);
  }
  const lines = error instanceof ApiError ? error.errors : [String(error)];
  return notice("error", `Could not load ${what}.`, lines);
}
