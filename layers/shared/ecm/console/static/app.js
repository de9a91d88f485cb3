// The console's shell: sign-in, navigation and a hash router (#/import, #/files,
// #/patients, #/patients/<id>, #/exports, #/people). Routes carry only internal ids, never a
// name or member id. A token without admin rights sees what its role may do, not forms.

import { ApiError, call, signIn, signOut, token } from "./api.js";
import { announce, field, fill, h, notice } from "./dom.js";
import { renderExports } from "./exports.js";
import { renderFiles } from "./files.js";
import { renderImport } from "./importer.js";
import { renderPatient } from "./patient.js";
import { renderPatients } from "./patients.js";
import { renderPlans } from "./plans.js";
import { renderPeople } from "./people.js";

const main = document.getElementById("main");
let cleanup = null;
let access = "unknown"; // "admin" | "limited"
let verified = false; // the token in sessionStorage was accepted by the API

/** "admin" if the token may call the admin API, "limited" if it is a valid non-admin token;
 * rejects (ApiError 401, or 0 when the API is unreachable) otherwise. */
async function verify() {
  try {
    await call("GET", "/providers");
    return "admin";
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return "limited";
    throw error;
  }
}

const ROUTES = [
  [/^#\/import$/, "import", () => renderImport(main)],
  [/^#\/files$/, "files", () => renderFiles(main)],
  [/^#\/patients$/, "patients", () => renderPatients(main)],
  [/^#\/patients\/(\d+)$/, "patients", (id) => renderPatient(main, Number(id))],
  [/^#\/plans$/, "plans", () => renderPlans(main)],
  [/^#\/exports$/, "exports", () => renderExports(main)],
  [/^#\/people$/, "people", () => renderPeople(main)],
];

/** A page just opened: focus its heading (not the body), unless it moved focus itself. */
function focusPage() {
  const heading = main.querySelector("h1");
  if (!heading || main.contains(document.activeElement)) return;
  heading.tabIndex = -1;
  heading.focus();
}

/** What a signed-in user without admin rights may do here: read this, and sign out. */
function renderLimited() {
  fill(
    main,
    h(
      "section",
      { class: "card narrow" },
      h("h1", { tabindex: "-1" }, "What your role may do"),
      h("p", {}, "You are signed in, but your token is not an administrator's."),
      h(
        "p",
        {},
        "Importing files, the patients and their case loads, return files, and providers and care managers " +
          "are for administrators: this console shows you none of them.",
      ),
      h("p", {}, "If your work needs them, ask an administrator for an administrator's token, then sign out and in again."),
    ),
  );
  main.querySelector("h1").focus();
}

function showShell(signedIn) {
  document.getElementById("nav").hidden = !signedIn || access !== "admin";
  document.getElementById("who").hidden = !signedIn;
  document.getElementById("who-name").textContent =
    access === "admin" ? "Signed in as an administrator" : "Signed in (not an administrator)";
}

async function route() {
  if (cleanup) cleanup();
  cleanup = null;
  if (!token()) {
    showShell(false);
    renderSignIn();
    return;
  }
  showShell(true);
  if (access !== "admin") {
    renderLimited();
    return;
  }
  const hash = location.hash && location.hash !== "#main" ? location.hash : "#/import";
  for (const [pattern, name, render] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    for (const link of document.querySelectorAll("[data-nav]")) {
      if (link.dataset.nav === name) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    cleanup = (await render(...match.slice(1))) || null;
    focusPage();
    return;
  }
  fill(main, notice("error", "There is no such page."));
}

function renderSignIn(message) {
  const input = h("input", {
    type: "password",
    name: "token",
    autocomplete: "off",
    required: true,
    spellcheck: "false",
  });
  const status = h("div");
  const form = h(
    "form",
    {
      class: "card narrow",
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const value = input.value.trim();
        if (!value) {
          fill(status, notice("error", "Enter your user token."));
          input.focus();
          return;
        }
        signIn(value);
        try {
          access = await verify();
          verified = true;
        } catch (error) {
          signOut();
          const why = error instanceof ApiError && error.status === 0 ? error.message : "This token was not accepted.";
          fill(status, notice("error", why));
          input.focus();
          return;
        }
        announce("Signed in");
        if (!location.hash || location.hash === "#main") location.hash = "#/import";
        else route();
      },
    },
    h("h1", {}, "Sign in"),
    h(
      "p",
      {},
      "Use the user token an administrator gave you. It is kept for this tab only, and never shown in the address.",
    ),
    message ? notice("warning", message) : null,
    field("User token", input, { hint: "No token, or it stopped working? Ask your administrator for a new one." }),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
    status,
  );
  fill(main, form);
  input.focus();
}

document.getElementById("sign-out").addEventListener("click", () => {
  signOut();
  access = "unknown";
  verified = false;
  location.hash = "";
  route();
});
window.addEventListener("ecm:unauthorized", () => {
  if (!verified) return; // a sign-in being checked answers for itself
  verified = false;
  signOut();
  showShell(false);
  renderSignIn("Your session ended: sign in again.");
});
window.addEventListener("hashchange", () => {
  if (location.hash !== "#main") route();
});
document.querySelector("[data-skip]").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

if (token()) {
  verify()
    .then((found) => {
      access = found;
      verified = true;
    })
    .catch(() => signOut())
    .finally(route);
} else {
  route();
}
