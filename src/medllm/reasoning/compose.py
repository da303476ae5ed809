"""Composition by name: `rag+cot+self-consistency`, `knn-fewshot+choice-shuffle(n=2)`.

A chain is read left to right, the way the work happens:
1. context stages (rag, kg-rag, fewshot, knn-fewshot) come first and run once: they fill the
   prompt (passages, facts, exemplars) for everything after them;
2. then at most one answerer (direct, cot, agents, agents-adaptive, medprompt); when none is
   named it is cot if a stage needs reasoning (self-consistency, verify), else direct;
3. then ensembles (self-consistency, choice-shuffle), each repeating everything between the
   contexts and itself: `cot+self-consistency+choice-shuffle` samples n chains of thought for
   each ordering of the options;
4. then verify, last, which checks the final answer against the evidence.
Options go in brackets: `self-consistency(n=3,temperature=0.5)`, `rag(k=3)`.

Orders that cannot work are refused with a ValueError that says why and lists the names:
contexts after the answer, two answerers, a stage twice, choice-shuffle before
self-consistency (sampling must happen inside each ordering), ensembles around agents or
medprompt (they already ensemble), verify anywhere but last, and stages with no scoring mode
in common (a loglik-only stage with a generate-only one).
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from medllm.reasoning.base import SOLVERS, Mode, SolveContext, Solver
from medllm.types import Answer, Question

CONTEXTS = ("rag", "kg-rag", "fewshot", "knn-fewshot", "evidence")
ANSWERERS = ("direct", "cot", "agents", "agents-adaptive", "medprompt")
ENSEMBLES = ("self-consistency", "choice-shuffle", "pride", "calibrate")
CHECKS = ("verify",)
SELF_ENSEMBLING = ("agents", "agents-adaptive", "medprompt")

_PART = re.compile(r"^\s*([a-z][a-z0-9-]*)\s*(?:\((.*)\))?\s*$")


def _known() -> str:
    return ", ".join(sorted(SOLVERS))


def _value(raw: str) -> Any:
    raw = raw.strip()
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return raw.strip("'\"")


def parse(spec: str) -> list[tuple[str, dict[str, Any]]]:
    """`a(x=1)+b` -> [("a", {"x": 1}), ("b", {})]; unknown names raise ValueError."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"empty strategy; known: {_known()}")
    out = []
    for part in re.split(r"\+(?![^()]*\))", spec):
        m = _PART.match(part)
        if not m:
            raise ValueError(f"cannot read strategy part {part!r} in {spec!r}; write NAME or NAME(key=value,...)"
                             f" joined by '+'; known: {_known()}")
        name, args = m.group(1), m.group(2)
        if name not in SOLVERS:
            raise ValueError(f"unknown strategy {name!r} in {spec!r}; known: {_known()}")
        kwargs: dict[str, Any] = {}
        for kv in filter(None, (a.strip() for a in (args or "").split(","))):
            key, eq, val = kv.partition("=")
            if not eq or not key.strip().isidentifier():
                raise ValueError(f"option {kv!r} of {name}: write key=value")
            kwargs[key.strip()] = _value(val)
        out.append((name, kwargs))
    return out


def build(name: str, **kwargs: Any) -> Solver:
    module, attr = SOLVERS[name].split(":")
    cls = getattr(importlib.import_module(module), attr)
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ValueError(f"bad option for {name}: {e}") from None


def _role(name: str) -> str:
    for role, names in (("context", CONTEXTS), ("answer", ANSWERERS), ("ensemble", ENSEMBLES), ("check", CHECKS)):
        if name in names:
            return role
    return "answer"  # a solver registered later without a role answers on its own


def check_order(names: list[str]) -> None:
    """Raise ValueError when the chain cannot work; the message says why and what to write."""
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ValueError(f"{n!r} appears twice in {'+'.join(names)}; name each stage once")
        seen.add(n)
    roles = [_role(n) for n in names]
    first_other = next((i for i, r in enumerate(roles) if r != "context"), len(names))
    late = [n for n, r in zip(names[first_other:], roles[first_other:], strict=True) if r == "context"]
    if late:
        raise ValueError(f"{late[0]!r} comes after {names[first_other]!r}: context stages "
                         f"({', '.join(CONTEXTS)}) go first, e.g. '{late[0]}+{names[first_other]}'")
    answerers = [n for n, r in zip(names, roles, strict=True) if r == "answer"]
    if len(answerers) > 1:
        raise ValueError(f"{' and '.join(answerers)} both answer; keep one of them ({', '.join(ANSWERERS)})")
    if answerers:
        ai = names.index(answerers[0])
        after_answer = [n for n in names[:ai] if _role(n) in ("ensemble", "check")]
        if after_answer:
            raise ValueError(f"{after_answer[0]!r} wraps an answer, so it comes after {answerers[0]!r}:"
                             f" write '{answerers[0]}+{after_answer[0]}'")
    if "verify" in names and names[-1] != "verify":
        raise ValueError("verify checks the final answer, so it comes last (e.g. 'rag+cot+verify')")
    if "self-consistency" in names and "choice-shuffle" in names and \
            names.index("choice-shuffle") < names.index("self-consistency"):
        raise ValueError("choice-shuffle before self-consistency would sample whole shuffle ensembles; "
                         "write 'self-consistency+choice-shuffle' (n samples per ordering)")
    selfens = [n for n in names if n in SELF_ENSEMBLING]
    clash = [n for n in names if n in ENSEMBLES or (selfens == ["medprompt"] and n in ("fewshot", "knn-fewshot"))]
    if selfens and clash:
        raise ValueError(f"{selfens[0]} already ensembles (and picks its own exemplars); it cannot be combined with"
                         f" {clash[0]}")


class Chain:
    """A composed solver: contexts around ensembles around one answerer, verify on top."""

    kind = "chain"

    def __init__(self, name: str, root: Solver, stages: list[Solver]) -> None:
        self.name = name
        self.root = root
        self.stages = stages
        modes: set[str] = {"loglik", "generate"}
        for s in stages:
            modes &= set(s.modes)
        self.modes: tuple[Mode, ...] = tuple(m for m in ("loglik", "generate") if m in modes)  # type: ignore[misc]
        self.needs = tuple(dict.fromkeys(n for s in stages for n in getattr(s, "needs", ())))

    def __call__(self, question: Question, ctx: SolveContext) -> Answer:
        if ctx.mode not in self.modes:
            raise ValueError(f"strategy {self.name!r} supports --mode {' or '.join(self.modes)}, not {ctx.mode}")
        a = self.root(question, ctx)
        return a.model_copy(update={"strategy": self.name})


def compose(spec: str, options: dict[str, dict[str, Any]] | None = None) -> Chain:
    """Build the chain a spec names. `options` adds keyword arguments per stage name
    (e.g. {"rag": {"k": 3}}); options written in the spec win."""
    parts = parse(spec)
    names = [n for n, _ in parts]
    check_order(names)
    answer = next((n for n in names if _role(n) == "answer"), None)
    if answer is None:
        answer = "cot" if any(n in ("self-consistency", "verify") for n in names) else "direct"
        pos = next((i for i, n in enumerate(names) if _role(n) != "context"), len(names))
        parts.insert(pos, (answer, {}))
        names.insert(pos, answer)
    made = {n: build(n, **{**(options or {}).get(n, {}), **kw}) for n, kw in parts}
    stages = [made[n] for n in names]
    modes = {n: set(made[n].modes) for n in names}
    common = set.intersection(*modes.values())
    if not common:
        only = {n: "/".join(sorted(m)) for n, m in modes.items()}
        raise ValueError(f"{'+'.join(names)} has no scoring mode all its stages support "
                         f"({', '.join(f'{n}: {m}' for n, m in only.items())}); drop one of them")
    # answerer, then ensembles/check in the order written, then contexts (first written = outermost)
    core: Solver = made[answer]
    for n in names:
        if _role(n) in ("ensemble", "check"):
            made[n].inner = core  # type: ignore[attr-defined]
            core = made[n]
    for n in reversed([n for n in names if _role(n) == "context"]):
        made[n].inner = core  # type: ignore[attr-defined]
        core = made[n]
    label = "+".join(n + (f"({','.join(f'{k}={v}' for k, v in kw.items())})" if kw else "") for n, kw in parts)
    return Chain(label, core, stages)


SUMMARIES = {
    "direct": "answer as asked (loglik: option scoring; generate: 'Answer: X')",
    "cot": "reason step by step, then 'Answer: X'",
    "fewshot": "k static solved exemplars from the pool (--shots N --shots-from SPEC)",
    "knn-fewshot": "the k pool exemplars nearest to the question by embedding",
    "self-consistency": "n sampled chains of thought, majority vote, agreement = confidence",
    "choice-shuffle": "answer every cyclic ordering of the options, map back, vote",
    "pride": "loglik: divide out the option-position prior estimated on the run's first items (PriDe)",
    "calibrate": "loglik: divide out the letter prior of a content-free item in the same context",
    "medprompt": "kNN exemplars with self-generated CoT (kept if correct) + choice-shuffle",
    "rag": "retrieve with the question alone, numbered passages, cite [n]",
    "kg-rag": "link concepts, add the pruned subgraph's facts with concept ids",
    "evidence": "few strong passages (expanded query, hybrid, rerank, floor); open answers checked sentence by sentence",
    "agents": "recruiter picks 2-5 specialties, experts answer, up to R rounds, moderator decides",
    "agents-adaptive": "solo self-consistency first; convene the team only when it disagrees",
    "verify": "a second pass checks the answer against the evidence and may revise it",
}


def describe() -> list[dict[str, Any]]:
    """One row per registered strategy: name, role, modes, what it needs, what it does."""
    rows = []
    for name in sorted(SOLVERS):
        module, attr = SOLVERS[name].split(":")
        cls = getattr(importlib.import_module(module), attr)
        rows.append({"name": name, "role": _role(name), "modes": list(cls.modes),
                     "needs": list(getattr(cls, "needs", ())), "summary": SUMMARIES.get(name, "")})
    return rows
