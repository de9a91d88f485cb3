// The admin API, called with the signed-in user's token. The token lives in sessionStorage:
// it is gone when the tab closes, and it never appears in a URL.

const TOKEN_KEY = "ecm-console-token";
export const API = new URL("../v1/admin/clinic/ecm", document.baseURI).pathname;

export class ApiError extends Error {
  constructor(status, errors) {
    super(errors.join("\n"));
    this.status = status;
    this.errors = errors;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Call the API; resolves to the JSON body of a 2xx, rejects with ApiError otherwise. */
export async function call(method, path, body) {
  const headers = { "X-User-Token": token() || "" };
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + path, init);
  } catch {
    throw new ApiError(0, ["The API could not be reached. Is the stack running?"]);
  }
  const data = await response.json().catch(() => ({}));
  if (response.ok) return data;
  if (response.status === 401) {
    window.dispatchEvent(new CustomEvent("ecm:unauthorized"));
  }
  const errors = Array.isArray(data.errors)
    ? data.errors
    : [data.message || `The API answered ${response.status}`];
  throw new ApiError(response.status, errors);
}

/** PUT a file to a presigned upload URL (S3), with the headers the API asked for. */
export async function putFile(url, headers, file) {
  let response;
  try {
    response = await fetch(url, { method: "PUT", headers, body: file });
  } catch {
    throw new ApiError(0, ["The file could not be sent to storage (network or CORS)."]);
  }
  if (!response.ok) {
    throw new ApiError(response.status, [`Storage refused the upload (${response.status}).`]);
  }
}

/**
 * Show an ApiError's messages at the fields they name. A control with
 * data-path="patient.first_name" takes every message starting with that path; the messages
 * no field claims are returned for a form-level notice.
 */
export function showFieldErrors(form, errors) {
  clearFieldErrors(form);
  const controls = [...form.querySelectorAll("[data-path]")].sort(
    (a, b) => b.dataset.path.length - a.dataset.path.length,
  );
  const unclaimed = [];
  for (const message of errors) {
    const control = controls.find((c) => message.startsWith(c.dataset.path + " "));
    if (!control) {
      unclaimed.push(message);
      continue;
    }
    const slot = document.getElementById(control.getAttribute("aria-describedby").split(" ").pop());
    slot.hidden = false;
    slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
    control.setAttribute("aria-invalid", "true");
  }
  const first = form.querySelector("[aria-invalid=true]");
  if (first) first.focus();
  return unclaimed;
}

export function clearFieldErrors(form) {
  for (const control of form.querySelectorAll("[aria-invalid]")) {
    control.removeAttribute("aria-invalid");
  }
  for (const slot of form.querySelectorAll(".field-error")) {
    slot.hidden = true;
    slot.textContent = "";
  }
}
