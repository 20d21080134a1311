// The Logs page (admin keys): recent exchanges from /web/api/logs, filtered by rating, refused
// and no valid citation; one exchange in full (?log=ID) from /web/api/logs/ID with its prompt,
// passages and scores, model, versions and timings, and a Replay button that shows the replay.
"use strict";

(() => {
  const byId = (id) => document.getElementById(id);
  const { element, link, row } = RAG;
  const params = new URLSearchParams(location.search);
  let oldest = null;

  const guarded = RAG.guardedLoader("logs-error", "logs-status", "Loading the logs");
  const status = (text) => {
    byId("logs-status").textContent = text;
  };
  const short = (text, length = 120) => (text && text.length > length ? `${text.slice(0, length)}…` : text);
  const yesNo = (value) => (value ? "yes" : "no");
  const score = (value) => (value === null || value === undefined ? "—" : value.toFixed(3));

  function ratingText(log) {
    return log.ratings ? `${log.scores.join(", ")} (mean ${log.mean_score.toFixed(1)})` : "unrated";
  }

  function logRow(log) {
    const tr = row([link(`/web/logs?log=${log.id}`, String(log.id)), RAG.when(log.created_at), short(log.query),
      short(log.answer), ratingText(log), yesNo(log.refused), yesNo(log.no_valid_citation), Math.round(log.total_ms)]);
    tr.dataset.logId = String(log.id);
    return tr;
  }

  async function loadLogs(more) {
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(byId("log-filters"))) if (value) query.set(name, value);
    if (more && oldest) query.set("before", oldest);
    const page = await RAG.json(`/web/api/logs?${query}`);
    const body = byId("logs").tBodies[0];
    if (!more) body.replaceChildren();
    body.append(...page.logs.map(logRow));
    if (page.logs.length) oldest = page.logs[page.logs.length - 1].id;
    byId("logs-more").hidden = !page.more;
    status(body.rows.length ? `${body.rows.length}${page.more ? "+" : ""} exchanges.` : "No exchange passes these filters.");
  }

  function showList() {
    byId("log-filters").addEventListener("submit", (event) => {
      event.preventDefault();
      guarded(() => loadLogs(false));
    });
    byId("logs-more").addEventListener("click", () => guarded(() => loadLogs(true)));
    byId("logs-view").hidden = false;
    return loadLogs(false);
  }

  function logFacts(log) {
    const model = log.model ? `${log.model.name} (${log.model.kind}, id ${log.model_id})` : log.model_id;
    return [
      ["Question", log.query],
      ["Retrieval query", log.rewritten_query],
      ["When", RAG.when(log.created_at)],
      ["Session", log.session_id + (log.parent_log_id ? ` (follows log ${log.parent_log_id})` : "")],
      ["Status", log.status + (log.error ? `: ${log.error}` : "")],
      ["Refused", yesNo(log.refused) + (log.signals?.refused_by ? ` (by the ${log.signals.refused_by})` : "")],
      ["No valid citation", yesNo(log.no_valid_citation)],
      ["Model", `${model}, sha256 ${(log.model_sha256 || "").slice(0, 12)}…`],
      ["Template", `${log.template_id} v${log.template_version}`],
      ["Index build", log.index_build_id],
      ["Dataset version", log.dataset_version_id],
      ["Policy", log.policy],
      ["Timings", `retrieve ${Math.round(log.retrieve_ms)} ms · generate ${Math.round(log.generate_ms)} ms · total ${Math.round(log.total_ms)} ms`],
      ["Tokens", `${log.prompt_tokens} prompt · ${log.completion_tokens} completion`],
      ["Request", log.request],
    ];
  }

  function passageRow(passage) {
    const source = passage.uri ? link(`/web/sources?source=${passage.source_id}`, passage.uri) : "deleted";
    return row([passage.rank, passage.chunk_id, score(passage.score), score(passage.bm25_score),
      score(passage.dense_score), source, short(passage.text, 300)]);
  }

  async function showLog(id) {
    const log = await RAG.json(`/web/api/logs/${encodeURIComponent(id)}`);
    byId("logs-heading").textContent = `Log ${log.id}`;
    const crumb = element("li", "", `log ${log.id}`);
    byId("crumbs").append(crumb);
    RAG.facts(byId("log-facts"), logFacts(log));
    byId("log-answer").textContent = log.answer;
    const ratings = log.feedback.map((f) => element("li", "", `${f.score} of 5${f.comment ? `: ${f.comment}` : ""} (${RAG.when(f.created_at)})`));
    byId("log-feedback").replaceChildren(...(ratings.length ? ratings : [element("li", "", "Not rated.")]));
    byId("log-passages").tBodies[0].replaceChildren(...log.passages.map(passageRow));
    byId("log-prompt").textContent = log.prompt ?? "(no prompt: refused before the model ran)";
    byId("replay").addEventListener("click", () => runReplay(log.id));
    byId("log-view").hidden = false;
  }

  function runArticle(title, run) {
    const article = element("article", "replay-run");
    article.append(element("h4", "", title));
    if (!run) {
      article.append(element("p", "hint", "Not made."));
      return article;
    }
    article.append(element("p", "answer-text", run.answer));
    const cited = run.citations.map(([n, chunk]) => `[${n}] chunk ${chunk}`).join(", ") || "none";
    article.append(element("p", "hint", `${run.refused ? "refused · " : ""}citations: ${cited} · model ${run.model.id}`));
    return article;
  }

  function renderReplay(report) {
    const verdict = report.replayed
      ? report.identical ? "The recorded run gives the logged answer word for word." : "The recorded run gives a different answer."
      : "The recorded run could not be made.";
    const changed = report.changed.length ? `Changed since: ${report.changed.join(", ")}.` : "Nothing has changed since.";
    const nodes = [element("p", `notice verdict ${report.identical ? "identical" : "different"}`, `${verdict} ${changed}`)];
    for (const reason of report.unavailable) nodes.push(element("p", "hint", `Cannot use the recorded ${reason}.`));
    const side = element("div", "side-by-side");
    side.append(runArticle("Logged", report.logged), runArticle("Replayed (recorded versions)", report.replayed),
      runArticle("As served now", report.current));
    nodes.push(side);
    byId("replay-result").replaceChildren(...nodes);
  }

  async function runReplay(id) {
    const button = byId("replay");
    button.disabled = true;
    RAG.showAlert("replay-error", "");
    byId("replay-result").replaceChildren(element("p", "status", "Replaying… (the model answers again)"));
    try {
      renderReplay(await RAG.json(`/web/api/logs/${encodeURIComponent(id)}/replay`, { method: "POST" }));
    } catch (failure) {
      byId("replay-result").replaceChildren();
      RAG.showAlert("replay-error", RAG.failureText(failure, "The replay"));
    } finally {
      button.disabled = false;
    }
  }

  let shown = false;
  RAG.onRole((info) => {
    const unavailable = byId("logs-unavailable");
    unavailable.hidden = !info || RAG.may("logs");
    unavailable.textContent = info ? `A ${info.role} key may not read the logs; use an admin key.` : "";
    if (!info || shown || !RAG.may("logs")) return;
    shown = true;
    guarded(params.get("log") ? () => showLog(params.get("log")) : showList);
  });
})();
