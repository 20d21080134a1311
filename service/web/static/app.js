// Shared by every page: the API key (kept in sessionStorage, for this tab only), calls to the
// API with it, readable error messages, and showing only what the key's role may do; small DOM helpers.
"use strict";

const RAG = (() => {
  const STORAGE = "rag.api_key";
  const listeners = [];
  let keyInfo = null;
  let checkTimer = null;

  class ApiFailure extends Error {}

  const keyInput = () => document.querySelector('input[name="api_key"]');
  const key = () => (keyInput()?.value || "").trim();

  function headers(extra = {}) {
    return { Authorization: `Bearer ${key()}`, ...extra };
  }

  // The message of an error response ({"error": {"message"}}), never raw JSON or a trace.
  async function readableError(response) {
    let message = "";
    try {
      const body = await response.json();
      message = body?.error?.message || "";
    } catch (_) {
      // not JSON: fall through to the status line
    }
    if (!message) message = `the server answered ${response.status} ${response.statusText || ""}`.trim();
    const prefix = { 401: "Key not accepted", 403: "Not allowed", 429: "Too many requests" }[response.status];
    return prefix ? `${prefix}: ${message}` : capitalize(message);
  }

  function capitalize(text) {
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  // fetch with the key; resolves to the Response when ok, throws ApiFailure with a readable message.
  async function call(path, { method = "GET", body } = {}) {
    if (!key()) throw new ApiFailure("Enter an API key first (at the top of the page).");
    const init = { method, headers: headers(body ? { "Content-Type": "application/json" } : {}) };
    if (body) init.body = JSON.stringify(body);
    let response;
    try {
      response = await fetch(path, init);
    } catch (_) {
      throw new ApiFailure("Could not reach the server; check that `rag serve` is running.");
    }
    if (!response.ok) throw new ApiFailure(await readableError(response));
    return response;
  }

  async function json(path, options) {
    return (await call(path, options)).json();
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function link(href, text) {
    const anchor = element("a", "", text);
    anchor.href = href;
    return anchor;
  }

  // A table row of ``cells`` (strings, numbers or nodes); null/undefined shows as "—".
  function row(cells) {
    const tr = element("tr");
    for (const cell of cells) {
      const td = element("td");
      td.append(cell instanceof Node ? cell : cell === null || cell === undefined ? "—" : String(cell));
      tr.append(td);
    }
    return tr;
  }

  // Fill the <dl> ``list`` with [term, value] pairs (objects shown as JSON).
  function facts(list, pairs) {
    list.replaceChildren();
    for (const [term, value] of pairs) {
      const shown = value === null || value === undefined ? "—" : typeof value === "object" ? JSON.stringify(value) : value;
      list.append(element("dt", "", term), element("dd", "", String(shown)));
    }
  }

  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

  // The message to show for a failed load: the API's own when it has one.
  const failureText = (failure, what) => (failure instanceof ApiFailure ? failure.message : `${what} failed; reload the page.`);

  // Show ``message`` in the alert box ``id``; an empty message hides it.
  function showAlert(id, message) {
    const box = document.getElementById(id);
    box.textContent = message || "";
    box.hidden = !message;
  }

  // A page's loader: ``load`` runs with the alert box ``alertId`` cleared; a failure empties the
  // status line ``statusId`` and shows "``what`` failed" (or the API's message) instead of raising.
  const guardedLoader = (alertId, statusId, what) => async (load) => {
    showAlert(alertId, "");
    try {
      await load();
    } catch (failure) {
      document.getElementById(statusId).textContent = "";
      showAlert(alertId, failureText(failure, what));
    }
  };

  function may(action) {
    return Boolean(keyInfo && keyInfo.may.includes(action));
  }

  // Elements marked data-requires="action" are shown only when the key's role allows it.
  function applyRole() {
    for (const node of document.querySelectorAll("[data-requires]")) {
      node.hidden = !may(node.dataset.requires);
    }
    listeners.forEach((listener) => listener(keyInfo));
  }

  function setStatus(text, isError = false) {
    const status = document.getElementById("key-status");
    status.textContent = text;
    status.classList.toggle("error", isError);
  }

  async function checkKey() {
    keyInfo = null;
    if (!key()) {
      setStatus("Enter an API key (kept for this tab only).");
      applyRole();
      return;
    }
    try {
      keyInfo = await json("/web/api/me");
      const scope = keyInfo.collections ? `collections ${keyInfo.collections.join(", ")}` : "every collection";
      setStatus(`${capitalize(keyInfo.role)} key${keyInfo.name ? ` “${keyInfo.name}”` : ""}: ${scope}.`);
    } catch (failure) {
      setStatus(failure.message, true);
    }
    applyRole();
  }

  function onKeyInput() {
    sessionStorage.setItem(STORAGE, key());
    clearTimeout(checkTimer);
    checkTimer = setTimeout(checkKey, 250);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const input = keyInput();
    input.value = sessionStorage.getItem(STORAGE) || "";
    input.addEventListener("input", onKeyInput);
    document.getElementById("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      onKeyInput();
    });
    checkKey();
  });

  return {
    ApiFailure,
    call,
    element,
    facts,
    failureText,
    guardedLoader,
    json,
    link,
    may,
    keyInfo: () => keyInfo,
    onRole: (listener) => listeners.push(listener),
    row,
    showAlert,
    when,
  };
})();
