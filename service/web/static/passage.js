// The side panel (#passage): a cited passage inside its source text, the cited span in <mark>,
// with the source's uri, collection, pages and metadata. Used by the Ask page (and any page
// that links to passages).
"use strict";

const RAGPassage = (() => {
  const panel = () => document.getElementById("passage");

  function fact(list, term, value) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }

  function renderFacts(view) {
    const list = panel().querySelector(".source-facts");
    list.replaceChildren();
    fact(list, "Source", view.source);
    fact(list, "Collection", view.collection);
    if (view.pages && view.pages.length) fact(list, "Page", view.pages.join(", "));
    fact(list, "Characters", `${view.span[0]}–${view.span[1]}`);
    for (const [name, value] of Object.entries(view.metadata || {})) {
      fact(list, name, typeof value === "string" ? value : JSON.stringify(value));
    }
  }

  // The context with the marked span; "…" where the source text goes on.
  function renderText(view) {
    const [start, end] = view.mark;
    const mark = document.createElement("mark");
    mark.textContent = view.context.slice(start, end);
    const text = panel().querySelector(".source-text");
    text.replaceChildren(
      (view.more_before ? "… " : "") + view.context.slice(0, start),
      mark,
      view.context.slice(end) + (view.more_after ? " …" : ""),
    );
    return mark;
  }

  // Bring the mark into view: inside the panel when it scrolls itself, else on the page.
  function reveal(mark) {
    const element = panel();
    if (element.scrollHeight > element.clientHeight) {
      const offset = mark.getBoundingClientRect().top - element.getBoundingClientRect().top;
      element.scrollTop += offset - element.clientHeight / 3;
    } else {
      element.scrollIntoView({ block: "start" });
    }
  }

  function open(heading) {
    const element = panel();
    element.hidden = false;
    element.querySelector("#passage-heading").textContent = heading;
    element.focus();
  }

  // Show chunk ``chunkId``; ``fallback`` ({source, text}) is shown, all marked, when the
  // source text cannot be loaded.
  async function show(chunkId, heading, fallback) {
    open(heading);
    panel().setAttribute("aria-busy", "true");
    let view;
    try {
      view = await RAG.json(`/web/api/passages/${encodeURIComponent(chunkId)}`);
    } catch (failure) {
      const text = fallback?.text || "";
      view = { source: fallback?.source || "", collection: "?", metadata: { note: failure.message } };
      Object.assign(view, { span: [0, text.length], context: text, mark: [0, text.length], pages: [] });
    }
    renderFacts(view);
    reveal(renderText(view));
    panel().setAttribute("aria-busy", "false");
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("passage-close")?.addEventListener("click", () => {
      panel().hidden = true;
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && panel() && !panel().hidden) panel().hidden = true;
    });
  });

  return { show };
})();
