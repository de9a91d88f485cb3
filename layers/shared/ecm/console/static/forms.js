// A form that sends one API call: field errors from a 422 shown at the fields they name, and
// on success a visible "Saved" in the form itself with focus kept on its button, even when
// the page is drawn again from the new data (the form is found again by its key).

import { ApiError, clearFieldErrors, showFieldErrors } from "./api.js";
import { announce, fill, h, notice } from "./dom.js";

/**
 * key: a name unique on the page (data-form); send(): the call; done(result): what follows
 * a success (e.g. drawing the page again); success: the message shown and announced.
 */
export function apiForm(key, children, send, { done, success = "Saved" } = {}) {
  const status = h("div", { dataset: { status: "" } });
  const form = h(
    "form",
    {
      novalidate: true,
      dataset: { form: key },
      onsubmit: async (event) => {
        event.preventDefault();
        clearFieldErrors(form);
        fill(status);
        const button = form.querySelector("button[type=submit]");
        button.disabled = true;
        let result;
        try {
          result = await send();
        } catch (error) {
          button.disabled = false;
          const errors = error instanceof ApiError ? error.errors : [String(error)];
          const rest = showFieldErrors(form, errors);
          if (rest.length) {
            fill(status, notice("error", "The change was not saved.", rest));
            if (!form.querySelector("[aria-invalid=true]")) button.focus();
          } else announce("The change was not saved: see the fields marked");
          return;
        }
        button.disabled = false;
        const text = typeof success === "function" ? success(result) : success;
        if (done) await done(result);
        showSaved(key, text);
      },
    },
    children,
    status,
  );
  return form;
}

/** "Saved" in the form with this key, focus on its button (where the change was made). */
export function showSaved(key, text) {
  const form = document.querySelector(`form[data-form="${key}"]`);
  announce(text);
  if (!form) return;
  fill(form.querySelector("[data-status]"), notice("success", text));
  const button = form.querySelector("button[type=submit]");
  if (button) button.focus();
}
