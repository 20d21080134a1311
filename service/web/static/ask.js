// The Ask page: the question goes to POST /generate with "stream": true; token events are
// shown as they arrive in #answer, the done event replaces them with the final answer whose
// [n] markers become a.citation links (opening the passage in #passage). Follow-ups send the
// session id (earlier turns move to #thread); the rating goes to POST /feedback.
"use strict";

(() => {
  const results = new Map(); // turn number -> the done event (GenerateResponse)
  let sessionId = null;
  let turnCount = 0;

  const byId = (id) => document.getElementById(id);

  const element = RAG.element;

  const showError = (message) => RAG.showAlert("ask-error", message);

  // Move the current turn (if any) into the thread and start a new one in #answer.
  function startTurn(question) {
    const answer = byId("answer");
    const previous = answer.firstElementChild;
    if (previous) {
      const item = element("li");
      item.append(previous);
      byId("thread").append(item);
    }
    turnCount += 1;
    const turn = element("article", "turn-item");
    turn.dataset.turn = String(turnCount);
    turn.append(element("h3", "question", question), element("p", "answer-text streaming"));
    answer.replaceChildren(turn);
    return turn;
  }

  // The answer's text with each valid [n] as a link to its passage.
  function linkedAnswer(result, turnNumber) {
    const cited = new Set(result.citations.map((citation) => citation.n));
    const nodes = [];
    let last = 0;
    for (const match of result.answer.matchAll(/\[(\d+)\]/g)) {
      const n = Number(match[1]);
      if (!cited.has(n)) continue;
      nodes.push(result.answer.slice(last, match.index));
      const link = element("a", "citation", `[${n}]`);
      link.href = "#passage";
      link.dataset.turn = String(turnNumber);
      link.dataset.n = String(n);
      link.setAttribute("aria-label", `Passage ${n}: ${result.citations.find((c) => c.n === n).source}`);
      nodes.push(link);
      last = match.index + match[0].length;
    }
    nodes.push(result.answer.slice(last));
    return nodes;
  }

  function sourcesList(result) {
    const list = element("ul", "cited-sources");
    for (const citation of result.citations) {
      const page = citation.pages && citation.pages.length ? `, page ${citation.pages[0]}` : "";
      list.append(element("li", "", `[${citation.n}] ${citation.source}${page}`));
    }
    return list;
  }

  function finishTurn(turn, result) {
    const turnNumber = Number(turn.dataset.turn);
    results.set(turnNumber, result);
    const text = turn.querySelector(".answer-text");
    text.classList.remove("streaming");
    text.replaceChildren(...linkedAnswer(result, turnNumber));
    if (result.refused) {
      text.classList.add("refusal");
      const by = result.signals?.refused_by === "gate" ? "no passage was relevant enough" : "the model declined";
      turn.append(element("p", "refusal-note", `Not answered from the sources (${by}).`));
    } else if (result.citations.length) {
      turn.append(sourcesList(result));
    } else {
      turn.append(element("p", "notice", "This answer cites no passage; check it against the sources."));
    }
    sessionId = result.session_id;
    byId("new-session").hidden = false;
    showRating(result.log_id);
  }

  function showRating(logId) {
    const form = byId("feedback");
    form.reset();
    form.dataset.logId = String(logId);
    byId("feedback-status").textContent = "";
    byId("rating").hidden = false;
  }

  // Server-sent events from a fetch body: calls handle(event, data) per event.
  async function readEvents(response, handle) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
      const blocks = buffer.split(/\r?\n\r?\n/);
      buffer = blocks.pop();
      for (const block of blocks) dispatch(block, handle);
      if (done) break;
    }
    if (buffer.trim()) dispatch(buffer, handle);
  }

  function dispatch(block, handle) {
    let event = "message";
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length) handle(event, JSON.parse(data.join("\n")));
  }

  async function ask(question) {
    showError("");
    const turn = startTurn(question);
    const text = turn.querySelector(".answer-text");
    const body = { query: question, stream: true, ...(sessionId ? { session_id: sessionId } : {}) };
    let finished = false;
    try {
      const response = await RAG.call("/generate", { method: "POST", body });
      await readEvents(response, (event, data) => {
        if (event === "token") text.append(data.text);
        else if (event === "done") {
          finishTurn(turn, data);
          finished = true;
        } else if (event === "error") throw new RAG.ApiFailure(data.error?.message || "The answer failed.");
      });
      if (!finished) throw new RAG.ApiFailure("The answer stopped before it was complete; ask again.");
    } catch (failure) {
      text.classList.remove("streaming");
      turn.classList.add("failed");
      showError(failure instanceof RAG.ApiFailure ? failure.message : "The answer could not be read; ask again.");
    }
  }

  async function submitAsk(event) {
    event.preventDefault();
    const query = byId("query");
    const question = query.value.trim();
    if (!question) return;
    const button = byId("ask-submit");
    button.disabled = true;
    try {
      await ask(question);
      query.value = "";
    } finally {
      button.disabled = false;
      query.focus();
    }
  }

  async function submitFeedback(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const comment = (data.get("comment") || "").trim();
    const body = { log_id: Number(form.dataset.logId), score: Number(data.get("score")) };
    if (comment) body.comment = comment;
    const status = byId("feedback-status");
    try {
      await RAG.call("/feedback", { method: "POST", body });
      status.textContent = `Thanks: rated ${body.score} of 5.`;
      status.classList.remove("error");
    } catch (failure) {
      status.textContent = failure.message;
      status.classList.add("error");
    }
  }

  function openCitation(event) {
    const link = event.target.closest("a.citation");
    if (!link) return;
    event.preventDefault();
    const result = results.get(Number(link.dataset.turn));
    const n = Number(link.dataset.n);
    const citation = result.citations.find((c) => c.n === n);
    RAGPassage.show(citation.chunk_id, `Passage [${n}]`, result.passages[n - 1]);
  }

  function newSession() {
    sessionId = null;
    byId("thread").replaceChildren();
    byId("answer").replaceChildren();
    byId("rating").hidden = true;
    byId("new-session").hidden = true;
    byId("query").focus();
  }

  function explainRole(info) {
    const notice = byId("ask-unavailable");
    notice.hidden = RAG.may("generate");
    notice.textContent = info
      ? `A ${info.role} key may not ask questions; use a user or admin key.`
      : "Enter a user or admin API key at the top of the page to ask questions.";
  }

  document.addEventListener("DOMContentLoaded", () => {
    byId("ask").addEventListener("submit", submitAsk);
    byId("query").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) byId("ask").requestSubmit();
    });
    byId("feedback").addEventListener("submit", submitFeedback);
    byId("new-session").addEventListener("click", newSession);
    byId("answer").addEventListener("click", openCitation);
    byId("thread").addEventListener("click", openCitation);
    RAG.onRole(explainRole);
  });
})();
