// The Search page: POST /search with the mode (hybrid, bm25, dense), k and the filters; each
// result shows both raw scores (BM25, cosine; hybrid adds the fused one) and opens in #passage.
"use strict";

(() => {
  const byId = (id) => document.getElementById(id);

  const element = RAG.element;

  const showError = (message) => RAG.showAlert("search-error", message);

  // "lang=en, team=search" -> {lang: "en", team: "search"}; throws on an entry without "=".
  function parseMetadata(text) {
    const metadata = {};
    for (const entry of text.split(",").map((part) => part.trim()).filter(Boolean)) {
      const at = entry.indexOf("=");
      if (at < 1) throw new RAG.ApiFailure(`Metadata: “${entry}” is not key=value; write e.g. lang=en.`);
      metadata[entry.slice(0, at).trim()] = entry.slice(at + 1).trim();
    }
    return metadata;
  }

  function requestBody(form) {
    const data = new FormData(form);
    const body = { query: data.get("query").trim(), mode: data.get("mode"), k: Number(data.get("k")) || 10 };
    const collection = data.get("collection").trim();
    if (collection) body.collection = collection;
    const filters = {};
    const uriPrefix = data.get("uri_prefix").trim();
    if (uriPrefix) filters.uri_prefix = uriPrefix;
    const metadata = parseMetadata(data.get("metadata"));
    if (Object.keys(metadata).length) filters.metadata = metadata;
    if (Object.keys(filters).length) body.filters = filters;
    return body;
  }

  const formatScore = (value) => (value === null || value === undefined ? "—" : value.toFixed(3));

  function scoreLine(result, mode) {
    const { bm25, dense } = result.scores;
    const fused = mode === "hybrid" ? `fused ${formatScore(result.score)} · ` : "";
    return `${fused}bm25 ${formatScore(bm25)} · dense ${formatScore(dense)}`;
  }

  function resultItem(result, rank, mode) {
    const item = element("li", "result");
    const head = element("div", "result-head");
    const open = element("button", "secondary open-passage", "Show in source");
    open.type = "button";
    open.setAttribute("aria-label", `Show result ${rank} in its source`);
    open.addEventListener("click", () => RAGPassage.show(result.chunk_id, `Result ${rank}`, result));
    const page = result.pages && result.pages.length ? `, page ${result.pages[0]}` : "";
    head.append(element("span", "result-source", `${result.source}${page} (${result.collection})`), open);
    item.append(head, element("p", "scores", scoreLine(result, mode)), element("p", "result-text", result.text));
    return item;
  }

  async function submitSearch(event) {
    event.preventDefault();
    showError("");
    const status = byId("search-status");
    const button = byId("search-submit");
    button.disabled = true;
    try {
      const body = requestBody(event.currentTarget);
      status.textContent = "Searching…";
      const { results } = await RAG.json("/search", { method: "POST", body });
      byId("results").replaceChildren(...results.map((result, i) => resultItem(result, i + 1, body.mode)));
      status.textContent = results.length ? `${results.length} results (${body.mode}).` : "No results.";
    } catch (failure) {
      status.textContent = "";
      showError(failure instanceof RAG.ApiFailure ? failure.message : "The search failed; try again.");
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    byId("search").addEventListener("submit", submitSearch);
  });
})();
