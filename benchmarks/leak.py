"""Leak test: does any PHI reach a remote model server, the response cache, or the audit log?

Synthetic notes with known PHI (medllm.trust.privacy.synthetic_notes) go through the real `ask` pipeline
(medllm.assistant.ask, what `medllm ask` runs) and the real evaluation runner, both pointed at an
`openai:` spec, so the privacy gate is on by default. The endpoint is a recording server on
127.0.0.1 that stands in for a remote LLM service: it stores every request body and answers
with a fixed OpenAI-style reply (the model is not what is under test here; what it receives is).
Afterwards every PHI string of every note is searched for in: the recorded request bodies, the
SQLite response cache, the audit log, and anything else written under MEDLLM_HOME except the
local re-identification vault (which is meant to hold it). Goal: 0 everywhere.

    python benchmarks/leak.py [--notes 500] [--eval-notes 50]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

REPLY = "The note describes a patient; follow the plan documented by the team."


class RecordingServer(ThreadingHTTPServer):
    """An OpenAI-compatible endpoint (chat, completions, models, tokenize) that records bodies."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: RecordingServer

    def log_message(self, *args: object) -> None:  # keep the console quiet
        pass

    def _send(self, obj: dict) -> None:
        data = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # /v1/models
        self._send({"object": "list", "data": [{"id": "recorder", "object": "model"}]})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
        with self.server.lock:
            self.server.bodies.append(body)
        req = json.loads(body or "{}")
        usage = {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
        if self.path.endswith("/tokenize"):
            self._send({"tokens": list(range(max(1, len(req.get("prompt", "")) // 4)))})
        elif self.path.endswith("/chat/completions") and req.get("stream"):
            chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": REPLY}}]}
            data = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif self.path.endswith("/chat/completions"):
            self._send({"object": "chat.completion", "model": "recorder", "usage": usage, "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": REPLY}}]})
        else:
            self._send({"object": "text_completion", "model": "recorder", "usage": usage,
                        "choices": [{"index": 0, "finish_reason": "stop", "text": REPLY}]})


def phi_strings(note) -> set[str]:
    # Only strings specific enough to mean a leak if found (short ones like "42" are everywhere).
    return {note.text[s.start:s.end] for s in note.phi if len(note.text[s.start:s.end]) >= 5}


def found(text: str, needles: set[str]) -> list[str]:
    """Needles that occur in `text` as whole tokens: a ZIP code inside a hex hash or a float is
    no leak."""
    return [x for x in needles if x in text and re.search(rf"(?<![0-9A-Za-z]){re.escape(x)}(?![0-9A-Za-z])", text)]


def count_in(text: str, needles: set[str]) -> int:
    return len(found(text, needles))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--notes", type=int, default=500, help="notes through `ask`")
    ap.add_argument("--eval-notes", type=int, default=50, help="notes through `medllm eval` (generate mode)")
    a = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="medllm-leak-"))
    os.environ["MEDLLM_HOME"] = str(home)
    from rich.console import Console
    from rich.progress import track

    from medllm.eval.runner import EvalConfig
    from medllm.jobs import AskRequest, EvalRequest, ask, evaluate
    from medllm.models import GenParams
    from medllm.session import Session
    from medllm.trust.privacy.synthetic_notes import generate_notes

    server = RecordingServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    spec = f"openai:{server.url}#recorder"

    notes = generate_notes(a.notes + a.eval_notes, seed=7)
    ask_notes, eval_notes = notes[: a.notes], notes[a.notes :]
    needles = set().union(*(phi_strings(n) for n in notes))
    print(f"{len(notes)} synthetic notes, {sum(len(n.phi) for n in notes)} PHI spans,"
          f" {len(needles)} distinct PHI strings (>= 5 characters) searched for")
    # What the server receives is checked per note against that note's own PHI: a surrogate
    # (a fake name) may by chance equal a real name in another note, which is no leak.
    sent_per_note: list[str] = []
    sent_wo_surrogates: list[str] = []

    # 1. ask: the pipeline `medllm ask` runs, with the response cache on (it is, when gated).
    session = Session.open(spec, strategy="direct", cache=True)  # audit: $MEDLLM_HOME/audit.jsonl
    assert session.gated, "the gate must be on by default for openai: specs"
    s = session.settings
    t0 = time.perf_counter()
    echoed = 0
    for n in track(ask_notes, description="ask", console=Console(stderr=True)):
        before = len(server.bodies)
        gate = session.new_gate()  # vault: $MEDLLM_HOME/vault.sqlite
        ans = ask(session, AskRequest(f"{n.text}\n\nSummarise the plan for this patient.",
                                      params=GenParams(max_tokens=64), gate=gate))
        echoed += REPLY in ans.text
        sent = "\n".join(server.bodies[before:])
        sent_per_note.append(sent)
        # The same text with this note's surrogates blanked: a fake street "710 Smith Inlet" that
        # happens to contain the patient's real surname "Smith" is a coincidence, not a leak.
        for fake in sorted(gate.session.surrogates(), key=len, reverse=True):
            sent = sent.replace(json.dumps(fake)[1:-1], " ")
        sent_wo_surrogates.append(sent)
    session.close()
    t_ask = time.perf_counter() - t0

    # 2. eval: a generic JSON-lines dataset whose questions are the notes, generate mode.
    ds = home / "notes.jsonl"
    ds.write_text("".join(json.dumps({"id": n.id, "q": n.text + "\nIs follow-up needed?",
                                      "options": ["yes", "no"], "answer": 0}) + "\n" for n in eval_notes))
    t0 = time.perf_counter()
    before = len(server.bodies)
    evaluate(Session.configure(), EvalRequest(EvalConfig(
        dataset=f"jsonl:{ds}?question=q&options=options&answer=answer&answer_base=0",
        model=spec, mode="generate", limit=len(eval_notes))))
    t_eval = time.perf_counter() - t0
    eval_bodies = server.bodies[before:]  # generate mode: one request per item, in order
    assert len(eval_bodies) == len(eval_notes), f"{len(eval_bodies)} eval requests for {len(eval_notes)} items"
    sent_per_note += eval_bodies
    leaked = [(x, [sp.label for sp in n.phi if n.text[sp.start:sp.end] == x][0])
              for b, n in zip(sent_per_note, notes) for x in found(b, phi_strings(n))]
    server_hits = len(leaked)
    beyond = [x for b, n in zip(sent_wo_surrogates, ask_notes) for x in found(b, phi_strings(n))]

    cache = (s.cache_path.read_bytes() if s.cache_path.exists() else b"").decode("utf-8", "ignore")
    log = (home / "audit.jsonl").read_text()
    others = ""
    for p in home.rglob("*"):
        if p.is_file() and p.name != "vault.sqlite" and p != ds and p != s.cache_path and p.name != "audit.jsonl":
            others += p.read_bytes().decode("utf-8", "ignore")
    vault = (home / "vault.sqlite").read_bytes().decode("utf-8", "ignore")

    print(f"ask: {len(ask_notes)} notes in {t_ask:.0f} s; eval: {len(eval_notes)} notes in {t_eval:.0f} s;"
          f" server received {len(server.bodies)} requests")
    print(f"{'where':34} {'PHI strings found':>18}")
    print(f"{'requests received by the server':34} {server_hits:>18}")
    if leaked:
        print("  found (label): " + "; ".join(f"{x!r} ({lab})" for x, lab in leaked[:10]))
        print(f"  of these, in ask requests outside surrogate text: {len(beyond)} {beyond[:10]}")
    for where, text in (("response cache (SQLite)", cache), ("audit log", log),
                        ("other files under MEDLLM_HOME", others)):
        print(f"{where:34} {count_in(text, needles):>18}")
    print(f"{'local vault (expected to hold PHI)':34} {count_in(vault, needles):>18}")
    print(f"answers restored for the caller: {echoed}/{len(ask_notes)} carry the server's reply")
    server.shutdown()


if __name__ == "__main__":
    main()
