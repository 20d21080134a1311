// The Sources page: by the address's query, the collections with their counts (none), one
// collection's sources, searchable (?collection=NAME&q=TEXT), or one source's cleaned text with
// its chunks shaded in turn and its duplicates named (?source=ID). Data from /web/api/.
"use strict";

(() => {
  const byId = (id) => document.getElementById(id);
  const { element, link, row } = RAG;
  const params = new URLSearchParams(location.search);
  const PAGE = 100;
  let offset = 0;

  const guarded = RAG.guardedLoader("sources-error", "sources-status", "Loading the sources");
  const status = (text) => {
    byId("sources-status").textContent = text;
  };

  function crumb(node) {
    const item = element("li");
    item.append(node);
    byId("crumbs").append(item);
  }

  const collectionHref = (name) => `/web/sources?collection=${encodeURIComponent(name)}`;

  async function showCollections() {
    const { collections } = await RAG.json("/web/api/collections");
    const rows = collections.map((c) =>
      row([link(collectionHref(c.name), c.name), c.sources, c.chunks, c.duplicate_chunks, c.duplicate_sources]),
    );
    byId("collections").tBodies[0].replaceChildren(...rows);
    status(collections.length ? `${collections.length} collections.` : "No collection this key may read.");
    byId("collections-view").hidden = false;
  }

  function sourceRow(source) {
    const metadata = Object.keys(source.metadata).length ? JSON.stringify(source.metadata) : "";
    const uri = link(`/web/sources?source=${source.id}`, source.uri);
    const synthetic = source.synthetic ? "synthetic" : "no";
    return row([uri, `${source.size_bytes} B`, source.chunks, RAG.when(source.ingested_at), synthetic, metadata]);
  }

  async function loadSources(name, more) {
    offset = more ? offset + PAGE : 0;
    const query = new URLSearchParams({ limit: PAGE, offset });
    const q = byId("source-q").value.trim();
    if (q) query.set("q", q);
    const page = await RAG.json(`/web/api/collections/${encodeURIComponent(name)}/sources?${query}`);
    const body = byId("sources").tBodies[0];
    if (!more) body.replaceChildren();
    body.append(...page.sources.map(sourceRow));
    byId("sources-more").hidden = !page.more;
    const shown = body.rows.length;
    status(shown ? `${shown}${page.more ? "+" : ""} sources${q ? ` matching “${q}”` : ""}.` : "No source matches.");
  }

  async function showSources(name) {
    byId("sources-heading").textContent = `Sources of ${name}`;
    crumb(element("span", "", name));
    byId("source-q").value = params.get("q") || "";
    byId("source-search").addEventListener("submit", (event) => {
      event.preventDefault();
      history.replaceState(null, "", `${collectionHref(name)}&q=${encodeURIComponent(byId("source-q").value.trim())}`);
      guarded(() => loadSources(name, false));
    });
    byId("sources-more").addEventListener("click", () => guarded(() => loadSources(name, true)));
    byId("sources-view").hidden = false;
    await loadSources(name, false);
  }

  function duplicateNote(duplicate) {
    if (!duplicate) return "";
    const similarity = duplicate.kind === "exact" ? "" : ` (similarity ${duplicate.similarity.toFixed(2)})`;
    if (!duplicate.original_uri) return `${duplicate.kind} duplicate of a chunk in a collection this key may not read`;
    const where = link(`/web/sources?source=${duplicate.original_source_id}`, duplicate.original_uri);
    const note = element("span", "", `${duplicate.kind} duplicate${similarity} of chunk ${duplicate.original_chunk_id} in `);
    note.append(where);
    return note;
  }

  function renderText(view) {
    const byChunk = new Map(view.chunks.map((chunk) => [chunk.id, chunk]));
    const nodes = view.segments.map((segment) => {
      const chunk = byChunk.get(segment.chunk_id);
      if (!chunk) return segment.text;
      const span = element("span", `chunk chunk-${chunk.ordinal % 2 ? "odd" : "even"}`, segment.text);
      if (chunk.duplicate_of) span.classList.add("duplicate");
      span.id = `chunk-${chunk.id}`;
      span.title = `chunk ${chunk.ordinal} (id ${chunk.id}, characters ${chunk.span[0]}–${chunk.span[1]})`;
      span.prepend(element("sup", "chunk-label", `#${chunk.ordinal}`));
      return span;
    });
    byId("source-text").replaceChildren(...nodes);
  }

  function renderNearDuplicates(view) {
    const box = byId("near-duplicates");
    box.replaceChildren();
    for (const near of view.near_duplicates) {
      const line = element("p", "notice", near.relation === "original" ? "Nearly duplicates " : "Nearly duplicated by ");
      line.append(link(`/web/sources?source=${near.source_id}`, near.uri));
      line.append(` (${near.collection}, similarity ${near.similarity.toFixed(2)}).`);
      box.append(line);
    }
  }

  async function showSource(id) {
    const view = await RAG.json(`/web/api/sources/${encodeURIComponent(id)}`);
    byId("sources-heading").textContent = view.uri;
    crumb(link(collectionHref(view.collection), view.collection));
    crumb(element("span", "", `source ${view.id}`));
    const copies = view.chunks.reduce((sum, chunk) => sum + chunk.copies, 0);
    RAG.facts(byId("source-facts"), [
      ["Collection", view.collection],
      ["Size", `${view.size_bytes} B (${view.mime_type})`],
      ["Ingested", RAG.when(view.ingested_at)],
      ["Synthetic", view.synthetic ? "yes" : "no"],
      ["Chunks", `${view.chunks.length} (${view.chunks.filter((c) => c.duplicate_of).length} duplicates; ${copies} copies elsewhere)`],
      ...Object.entries(view.metadata),
    ]);
    renderNearDuplicates(view);
    renderText(view);
    const rows = view.chunks.map((chunk) => {
      const copied = chunk.copies ? ` · copied by ${chunk.copies} chunk(s)` : "";
      const note = duplicateNote(chunk.duplicate_of);
      return row([chunk.ordinal, chunk.id, `${chunk.span[0]}–${chunk.span[1]}`, chunk.pages.join(", ") || null, note || copied || "—"]);
    });
    byId("chunks").tBodies[0].replaceChildren(...rows);
    byId("source-view").hidden = false;
  }

  let shown = false;
  RAG.onRole((info) => {
    if (!info || shown) return;
    shown = true;
    if (params.get("source")) guarded(() => showSource(params.get("source")));
    else if (params.get("collection")) guarded(() => showSources(params.get("collection")));
    else guarded(showCollections);
  });
})();
