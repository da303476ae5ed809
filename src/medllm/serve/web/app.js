// The clinician page: plain JS, no build step. Model text is only ever set as textContent.
"use strict";

const $ = (sel) => document.querySelector(sel);
const el = (tag, props = {}, ...kids) => {
  const n = Object.assign(document.createElement(tag), props);
  for (const k of kids) n.append(k);
  return n;
};

// The key lives in this tab's sessionStorage only (gone when the tab closes), never in
// localStorage; "Forget key" drops it at once.
const keyInput = $("#key");
localStorage.removeItem("medllm-key");  // what older versions of this page kept
keyInput.value = sessionStorage.getItem("medllm-key") || "";
keyInput.addEventListener("change", () => { sessionStorage.setItem("medllm-key", keyInput.value.trim()); loadModels(); });
$("#forget-key").addEventListener("click", () => {
  sessionStorage.removeItem("medllm-key");
  keyInput.value = "";
  status("key forgotten");
});

function headers() {
  return { "Content-Type": "application/json", "Authorization": "Bearer " + keyInput.value.trim() };
}

function status(text, error = false) {
  const s = $("#status");
  s.textContent = text;
  s.className = error ? "error" : "muted";
}

async function api(path, body) {
  const r = await fetch(path, body === undefined ? { headers: headers() }
                                                 : { method: "POST", headers: headers(), body: JSON.stringify(body) });
  if (!r.ok) throw new Error(await errorText(r));
  return (r.headers.get("content-type") || "").includes("json") ? r.json() : r.text();
}

async function errorText(r) {
  let detail = r.statusText;
  try {
    const j = await r.json();  // OpenAI's error object
    detail = (j.error && j.error.message) || JSON.stringify(j);
  } catch (e) { /* not JSON */ }
  const retry = r.headers.get("Retry-After");
  return `${r.status}: ${detail}` + (retry ? ` (retry in ${retry} s)` : "");
}

// ------------------------------------------------------------------ tabs

for (const b of document.querySelectorAll("nav button")) {
  b.addEventListener("click", () => {
    for (const o of document.querySelectorAll("nav button")) o.setAttribute("aria-selected", String(o === b));
    for (const t of document.querySelectorAll(".tab")) t.hidden = t.id !== "tab-" + b.dataset.tab;
    if (b.dataset.tab === "runs") loadRuns();
  });
}

// ------------------------------------------------------------------ chat

async function loadModels() {
  if (!keyInput.value.trim()) return;
  try {
    const health = await (await fetch("/readyz")).json();
    const sel = $("#strategy");
    sel.replaceChildren(...(health.detail.strategies || []).map((s) => el("option", { value: s, textContent: s })));
  } catch (e) { status(String(e), true); }
}

function showPassage(ev) {
  $("#passage-title").textContent = `[${ev.index}] ` + (ev.source === "kg" ? "knowledge graph fact" : ev.citation);
  $("#passage-text").textContent = ev.text;
  $("#passage-cite").textContent = ev.source === "kg" ? ev.citation : `passage ${ev.passage_id}`;
  $("#passage").showModal();
}

// The answer text with each [n] that names shown evidence as a button opening its passage.
function renderAnswer(node, text, evidence) {
  const byIndex = new Map((evidence || []).map((e) => [e.index, e]));
  node.replaceChildren();
  let last = 0;
  for (const m of text.matchAll(/\[(\d+)\]/g)) {
    const ev = byIndex.get(Number(m[1]));
    if (!ev) continue;
    node.append(text.slice(last, m.index));
    node.append(el("button", { className: "cite", type: "button", textContent: m[0], title: ev.citation,
                               onclick: () => showPassage(ev) }));
    last = m.index + m[0].length;
  }
  node.append(text.slice(last));
}

function renderFlags(box, flags) {
  const red = flags.filter((f) => f.kind.startsWith("red_flag:"));
  const refusal = flags.filter((f) => f.kind.startsWith("refusal:"));
  if (red.length && !box.querySelector(".banner")) {
    const reasons = red.map((f) => (f.message.match(/\(Detected: (.*)\.\)/) || [])[1] || f.kind).join("; ");
    box.prepend(el("div", { className: "banner", role: "alert", textContent: "Possible emergency: " + reasons +
      ". Urgent care advice comes first in the answer." }));
  }
  if (refusal.length) box.dataset.refused = "true";
}

async function ask(evt) {
  evt.preventDefault();
  const question = $("#question").value;
  if (!question.trim()) return;
  const conv = $("#conversation");
  conv.append(el("div", { className: "msg user", textContent: question }));
  const box = el("div", { className: "msg bot" });
  const body = el("div", { className: "answer" });
  box.append(body);
  conv.append(box);
  $("#send").disabled = true;
  status("answering…");
  const req = { question, strategy: $("#strategy").value || undefined };
  const opts = $("#options").value.trim();
  if (opts) req.options = opts.split(/\s*(?=\b[A-J]\)\s)/).map((o) => o.trim()).filter(Boolean);
  let text = "";
  try {
    const r = await fetch("/v1/ask/stream", { method: "POST", headers: headers(), body: JSON.stringify(req) });
    if (!r.ok) throw new Error(await errorText(r));
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const raw = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const event = (raw.match(/^event: (.*)$/m) || [])[1];
        const data = JSON.parse((raw.match(/^data: (.*)$/m) || [])[1] || "null");
        if (event === "flags") renderFlags(box, data);
        else if (event === "token") { text += data.text; body.textContent = text; }
        else if (event === "answer") showAnswer(box, body, data);
        else if (event === "error") throw new Error(data.message);
      }
    }
    status("");
  } catch (e) {
    box.append(el("p", { className: "error", textContent: String(e.message || e) }));
    status("failed", true);
  } finally {
    $("#send").disabled = false;
  }
}

function showAnswer(box, body, a) {
  renderFlags(box, a.flags);
  const refused = a.strategy === "refused";
  body.className = refused ? "answer refusal" : "answer";
  renderAnswer(body, a.text, a.evidence);
  const cited = new Set((a.metadata && a.metadata.cited) || []);
  const shown = a.evidence.filter((e) => cited.has(e.index));
  if (shown.length) {
    box.append(el("h4", { textContent: "Sources" }),
      el("ol", { className: "sources" }, ...shown.map((e) => el("li", { value: e.index },
        el("button", { type: "button", textContent: e.source === "kg" ? e.text : e.citation, onclick: () => showPassage(e) })))));
  }
  // warnings, and the note on attributed citations; the banner and the text already show the rest
  const flags = a.flags.filter((f) => !f.kind.startsWith("red_flag:") && !f.kind.startsWith("refusal:") &&
                                      (f.severity !== "info" || f.kind === "citations_attributed"));
  if (flags.length) {
    box.append(el("ul", { className: "flags" }, ...flags.map((f) => el("li", { className: f.severity, textContent: `${f.kind}: ${f.message}` }))));
  }
  const conf = a.confidence === null || a.confidence === undefined ? "unknown" : a.confidence.toFixed(2);
  const secs = (a.metadata && a.metadata.timings && a.metadata.timings.total_s) || a.cost.seconds;
  box.append(el("div", { className: "meta" },
    el("span", { className: "conf", textContent: "confidence " + conf }),
    el("span", { textContent: refused ? "refused" : "strategy " + a.strategy }),
    el("span", { textContent: a.model }),
    el("span", { textContent: `${secs.toFixed(1)} s` })));
}

$("#ask-form").addEventListener("submit", ask);

// ------------------------------------------------------------------ de-identification

$("#deid-run").addEventListener("click", async () => {
  const text = $("#deid-input").value;
  if (!text.trim()) return;
  status("de-identifying…");
  try {
    const r = await api("/v1/deid", { text, mode: $("#deid-mode").value });
    $("#deid-output").textContent = r.text;
    const marked = $("#deid-marked");
    marked.replaceChildren();
    let last = 0;
    for (const s of r.spans) {
      marked.append(text.slice(last, s.start));
      marked.append(el("mark", { title: s.label }, text.slice(s.start, s.end), el("small", { textContent: s.label })));
      last = s.end;
    }
    marked.append(text.slice(last));
    const rows = Object.entries(r.counts).map(([k, v]) => el("tr", {}, el("td", { textContent: k }), el("td", { textContent: String(v) })));
    $("#deid-counts").replaceChildren(el("tr", {}, el("th", { textContent: "PHI" }), el("th", { textContent: "found" })), ...rows);
    status("");
  } catch (e) { status(String(e.message || e), true); }
});

// ------------------------------------------------------------------ triage

// Shows whatever the decision record gives: level, reason, and findings and rule when present.
$("#triage-run").addEventListener("click", async () => {
  const text = $("#triage-input").value;
  if (!text.trim()) return;
  status("triaging…");
  try {
    const r = await api("/v1/triage", { text });
    const out = $("#triage-result");
    out.replaceChildren(
      el("p", { className: "level " + r.level, textContent: (r.refuse ? "refuse · " : "") + r.level }),
      el("p", { className: "reason", textContent: r.reason || "" }));
    if (r.rule !== null && r.rule !== undefined) {
      out.append(el("p", { className: "rule", textContent: "Rule: " + (typeof r.rule === "string" ? r.rule : JSON.stringify(r.rule)) }));
    }
    if (r.findings && r.findings.length) {
      const cols = [...new Set(r.findings.flatMap((f) => Object.keys(f)))];
      out.append(el("table", { className: "findings" },
        el("tr", {}, ...cols.map((c) => el("th", { textContent: c }))),
        ...r.findings.map((f) => el("tr", {}, ...cols.map((c) => el("td", {
          textContent: f[c] === undefined || f[c] === null ? "" : (typeof f[c] === "object" ? JSON.stringify(f[c]) : String(f[c])) }))))));
    }
    if (r.advice) out.append(el("p", { className: "advice", textContent: r.advice }));
    status("");
  } catch (e) { status(String(e.message || e), true); }
});

// ------------------------------------------------------------------ differential

$("#ddx-run").addEventListener("click", async () => {
  const raw = $("#ddx-input").value.trim();
  if (!raw) return;
  const lines = raw.split(/\n+/).map((l) => l.trim()).filter(Boolean);
  const asTerms = lines.every((l) => /^HP:\d+$/.test(l) || l.split(/\s+/).length <= 4);
  status("ranking…");
  try {
    const r = await api("/v1/ddx", asTerms && lines.length > 1 ? { phenotypes: lines, k: 10 } : { text: raw, k: 10 });
    $("#ddx-terms").textContent = r.phenotypes.length
      ? "Phenotypes: " + r.phenotype_names.map((n, i) => `${n} (${r.phenotypes[i]})`).join(", ")
      : "No phenotype was recognised.";
    if (r.excluded.length) {
      $("#ddx-terms").textContent += ". Excluded: " + r.excluded_names.map((n, i) => `${n} (${r.excluded[i]})`).join(", ");
    }
    $("#ddx-table").replaceChildren(
      el("tr", {}, ...["#", "diagnosis", "posterior", "matched phenotypes"].map((h) => el("th", { textContent: h }))),
      ...r.diagnoses.map((d) => el("tr", {},
        el("td", { textContent: String(d.rank) }),
        el("td", { textContent: `${d.name} (${d.disease_id})` }),
        el("td", { textContent: d.score.toFixed(3) }),
        el("td", { textContent: d.matches.map((m) => m.patient === m.disease_term ? m.patient_name : `${m.patient_name} ~ ${m.disease_term_name}`).join(", ") }))));
    status("");
  } catch (e) { status(String(e.message || e), true); }
});

// ------------------------------------------------------------------ evaluation reports

async function loadRuns() {
  if (!keyInput.value.trim()) return;
  try {
    const runs = await api("/v1/eval/runs");
    $("#runs-table").replaceChildren(
      el("tr", {}, ...["run", "dataset", "model", "strategy", "n", "accuracy"].map((h) => el("th", { textContent: h }))),
      ...runs.map((r) => {
        const tr = el("tr", {}, ...[r.run_id, r.dataset, r.model, `${r.strategy} (${r.mode})`, String(r.n ?? ""),
          r.accuracy === null ? "" : (100 * r.accuracy).toFixed(1) + "%"].map((t) => el("td", { textContent: t })));
        tr.addEventListener("click", async () => {
          try { $("#report").srcdoc = await api(`/v1/eval/runs/${encodeURIComponent(r.run_id)}/report`); }
          catch (e) { status(String(e.message || e), true); }
        });
        return tr;
      }));
    if (!runs.length) status("no evaluation runs stored yet (`medllm eval run …`)");
  } catch (e) { status(String(e.message || e), true); }
}
$("#runs-load").addEventListener("click", loadRuns);

loadModels();
