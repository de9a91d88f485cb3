// People: the ECM providers and the care managers (OLCM, ILCM) that case loads name. Add a
// provider; add a care manager (its token is shown once) and change its name, phone or email.

import { call } from "./api.js";
import { failure, field, fill, h, label, notice, pageTitle, select, table } from "./dom.js";
import { apiForm } from "./forms.js";

const ROLES = ["olcm", "ilcm"];
const ROLE_NAMES = { olcm: "Outreach lead (OLCM)", ilcm: "Lead care manager (ILCM)" };

export async function renderPeople(main) {
  let providers, managers;
  try {
    [{ providers }, { care_managers: managers }] = await Promise.all([
      call("GET", "/providers"),
      call("GET", "/care_managers"),
    ]);
  } catch (error) {
    fill(main, pageTitle("Providers and care managers"), failure(error, "the providers and care managers"));
    return;
  }
  const reload = () => renderPeople(main);
  const editing = h("div", { dataset: { editing: "" } });
  fill(
    main,
    pageTitle("Providers and care managers"),
    h(
      "section",
      { class: "card", "aria-labelledby": "providers-title" },
      h("h2", { id: "providers-title" }, "ECM providers"),
      table(
        "ECM providers",
        [
          ["Id", (p) => String(p.id)],
          ["Name", (p) => p.name],
          ["NPI", (p) => p.npi || "—"],
        ],
        providers,
        { empty: "No provider yet." },
      ),
      h("h3", {}, "Add a provider"),
      providerForm(reload),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "managers-title" },
      h("h2", { id: "managers-title" }, "Care managers"),
      table(
        "Care managers",
        [
          ["Id", (m) => String(m.id)],
          ["Name", (m) => m.name],
          ["Role", (m) => ROLE_NAMES[m.role] || label(m.role)],
          ["Phone", (m) => m.phone || "—"],
          ["Email", (m) => m.email || "—"],
          [
            "Change",
            (m) =>
              h(
                "button",
                {
                  type: "button",
                  class: "link",
                  onclick: () => {
                    fill(editing, editForm(m, reload));
                    editing.querySelector("input").focus();
                  },
                },
                `Change ${m.name}`,
              ),
          ],
        ],
        managers,
        { empty: "No care manager yet." },
      ),
      editing,
      h("h3", {}, "Add a care manager"),
      managerForm(reload),
    ),
  );
}

function text(name, attrs = {}) {
  return h("input", { type: "text", name, autocomplete: "off", ...attrs });
}

/** The value of an optional text input: null when blank. */
function optional(input) {
  const value = input.value.trim();
  return value === "" ? null : value;
}

function providerForm(reload) {
  const name = text("name", { maxlength: 200 });
  const npi = text("npi", { inputmode: "numeric", maxlength: 10 });
  return apiForm(
    "provider",
    [
      h(
        "div",
        { class: "filters" },
        field("Provider name", name, { path: "provider.name" }),
        field("NPI", npi, { path: "provider.npi", hint: "10 digits; optional." }),
      ),
      h("button", { type: "submit", class: "primary" }, "Add the provider"),
    ],
    () => call("POST", "/providers", { provider: { name: name.value.trim(), npi: optional(npi) } }),
    { done: reload, success: (result) => `Saved: provider ${result.provider.name} added.` },
  );
}

function managerForm(reload) {
  const name = text("name", { maxlength: 200 });
  const role = select("role", ROLES, { value: "ilcm" });
  for (const option of role.options) option.textContent = ROLE_NAMES[option.value];
  const phone = h("input", { type: "tel", name: "phone", autocomplete: "off" });
  const email = h("input", { type: "email", name: "email", autocomplete: "off" });
  let token = null;
  return apiForm(
    "care-manager",
    [
      h(
        "div",
        { class: "filters" },
        field("Care manager name", name, { path: "care_manager.name" }),
        field("Role", role, { path: "care_manager.role" }),
        field("Phone", phone, { path: "care_manager.phone", hint: "10 digits; the RTF gives it for the lead care manager." }),
        field("Email", email, { path: "care_manager.email" }),
      ),
      h("button", { type: "submit", class: "primary" }, "Add the care manager"),
    ],
    async () => {
      const result = await call("POST", "/care_managers", {
        care_manager: { name: name.value.trim(), role: role.value, phone: optional(phone), email: optional(email) },
      });
      token = result.token;
      return result;
    },
    {
      done: async () => {
        await reload();
        // The token is shown this once: put it where the change was made, after the redraw.
        const form = document.querySelector('form[data-form="care-manager"]');
        form.append(
          notice("info", "Their token, shown this once: give it to them, it is not kept here.", [token]),
        );
      },
      success: (result) => `Saved: ${result.care_manager.name} added.`,
    },
  );
}

function editForm(manager, reload) {
  const name = text("name", { maxlength: 200, value: manager.name });
  const phone = h("input", { type: "tel", name: "phone", autocomplete: "off", value: (manager.phone || "").replace(/^\+1/, "") });
  const email = h("input", { type: "email", name: "email", autocomplete: "off", value: manager.email || "" });
  return h(
    "section",
    { class: "editing", "aria-labelledby": "editing-title" },
    h("h3", { id: "editing-title" }, `Change ${manager.name}`),
    apiForm(
      `care-manager-${manager.id}`,
      [
        h(
          "div",
          { class: "filters" },
          field("Name", name, { path: "care_manager.name" }),
          field("Phone", phone, { path: "care_manager.phone", hint: "Empty clears it." }),
          field("Email", email, { path: "care_manager.email", hint: "Empty clears it." }),
        ),
        h("button", { type: "submit", class: "primary" }, "Save the changes"),
      ],
      () =>
        call("PUT", `/care_managers/${manager.id}`, {
          care_manager: { name: name.value.trim(), phone: optional(phone), email: optional(email) },
        }),
      {
        done: async (result) => {
          await reload();
          // Keep the edited one open, with "Saved" and focus in its own form.
          const holder = document.querySelector("[data-editing]");
          if (holder) fill(holder, editForm(result.care_manager, reload));
        },
        success: "Saved",
      },
    ),
  );
}
