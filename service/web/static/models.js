// The Models page: the registry from /web/api/models, the model this service serves (its row
// marked) and the answer policy it answers under, each model's figures (its metrics) in a list.
"use strict";

(() => {
  const byId = (id) => document.getElementById(id);
  const { element, row } = RAG;

  // Figures as "name: value" lines; nested objects (e.g. eval by context) flattened with dots.
  function figureLines(metrics, prefix = "") {
    return Object.entries(metrics || {}).flatMap(([name, value]) =>
      value && typeof value === "object" && !Array.isArray(value)
        ? figureLines(value, `${prefix}${name}.`)
        : [`${prefix}${name}: ${typeof value === "number" ? Number(value.toFixed(4)) : JSON.stringify(value)}`],
    );
  }

  function listOf(lines) {
    if (!lines.length) return "—";
    const list = element("ul", "figures");
    list.append(...lines.map((line) => element("li", "", line)));
    return list;
  }

  function modelRow(model, servedId) {
    const policy = Object.keys(model.policy).length ? listOf(figureLines(model.policy)) : "settings' defaults";
    const status = model.id === servedId ? `${model.status} · served` : model.status;
    const tr = row([model.id, model.name, model.kind, status, model.parent_id, RAG.when(model.created_at),
      listOf(figureLines(model.metrics)), policy]);
    if (model.id === servedId) tr.classList.add("current");
    tr.dataset.modelId = String(model.id);
    return tr;
  }

  function render(view) {
    const served = view.served;
    byId("served").textContent =
      `Model ${served.id} “${served.name}” (${served.kind}, ${served.status}), weights sha256 ${served.sha256.slice(0, 12)}…`;
    const note = byId("registry-note");
    const next = view.registry_serving_id;
    note.hidden = next === null || next === served.id || served.kind === "remote";
    note.textContent =
      view.refresh_seconds > 0
        ? `The registry now serves model ${next}; this service switches to it within ${view.refresh_seconds} s.`
        : `The registry now serves model ${next}; restart the service to serve it (RAG_MODEL_REFRESH_SECONDS is 0).`;
    RAG.facts(byId("policy"), Object.entries(view.policy));
    byId("models").tBodies[0].replaceChildren(...view.models.map((model) => modelRow(model, served.id)));
    byId("models-view").hidden = false;
  }

  let shown = false;
  RAG.onRole(async (info) => {
    if (!info || shown) return;
    shown = true;
    RAG.showAlert("models-error", "");
    try {
      render(await RAG.json("/web/api/models"));
    } catch (failure) {
      RAG.showAlert("models-error", RAG.failureText(failure, "Loading the models"));
    }
  });
})();
