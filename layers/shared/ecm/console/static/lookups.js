// The lists the console's selects are built from: the API's closed value sets (choices.json,
// generated from the same constants the API validates against), providers and care managers.

import { call } from "./api.js";

let choicesPromise = null;

/** The value sets, fetched once per page load. */
export function choices() {
  if (!choicesPromise) {
    choicesPromise = fetch("choices.json", { cache: "no-store" }).then((response) => {
      if (!response.ok) throw new Error("The console's value lists could not be loaded.");
      return response.json();
    });
    choicesPromise.catch(() => (choicesPromise = null));
  }
  return choicesPromise;
}

/** Providers and care managers by role; fetched each time (an admin may add one meanwhile). */
export async function staff() {
  const [providers, managers] = await Promise.all([
    call("GET", "/providers"),
    call("GET", "/care_managers"),
  ]);
  const people = managers.care_managers;
  return {
    providers: providers.providers,
    olcm: people.filter((m) => m.role === "olcm"),
    ilcm: people.filter((m) => m.role === "ilcm"),
  };
}
