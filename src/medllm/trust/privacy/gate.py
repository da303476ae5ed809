"""The privacy gate: what `ask`, `eval`, `audit` and `serve` put in front of a model that is not
in process. `PrivacyGate.scrub(text)` before the call, `restore(text)` on the reply;
`GatedModel` wraps any `Model` that way, so caches and logs behind it only ever see scrubbed
text. Nothing here logs PHI.

One detection pass per text: the gate remembers the texts it scrubbed lately (in memory only),
so the question the assistant scrubs for its audit log and the same question in the prompt
cost one pass and are counted once.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from medllm.models.base import Completion, GenParams, LoglikResult, Message, Model, ModelInfo
from medllm.trust.privacy.replace import MODES, Deidentified, Deidentifier, Mode, PhiSession
from medllm.trust.vault import Vault


def gate_required(model_spec: str, setting: str = "auto") -> bool:
    """Whether text must be de-identified before it reaches `model_spec`.

    "on"/"off" decide outright; "auto" turns the gate on for every backend that is not in
    process (anything but `llamacpp:` and `hf:` specs), so an unknown backend is gated."""
    if setting not in ("auto", "on", "off"):
        raise ValueError(f"privacy gate setting {setting!r}: use auto, on or off")
    if setting != "auto":
        return setting == "on"
    backend = model_spec.split(":", 1)[0].strip().lower() if ":" in model_spec else "llamacpp"
    return backend not in ("llamacpp", "hf")


def gate_reason(model_spec: str, setting: str = "auto") -> str:
    on = gate_required(model_spec, setting)
    if setting != "auto":
        return f"setting: {setting}"
    return "auto: remote backend" if on else "auto: in-process backend"


class PrivacyGate:
    """De-identify before a call, re-identify the reply. One gate = one session.

    >>> gate = PrivacyGate(Deidentifier(), mode="surrogate")    # doctest: +SKIP
    >>> clean, session = gate.scrub(note); reply = gate.restore(model_reply)   # doctest: +SKIP
    """

    MEMO_SIZE = 256  # texts remembered (in memory) so that one text is detected once

    def __init__(self, deidentifier: Deidentifier | None = None, *, mode: Mode = "surrogate",
                 vault: Vault | str | Path | None = None, session_id: str | None = None,
                 seed: int | None = None, patient: str | None = None):
        if mode not in MODES:
            raise ValueError(f"privacy gate mode {mode!r}: use one of {', '.join(MODES)}")
        self.deid = deidentifier if deidentifier is not None else Deidentifier()
        self.mode: Mode = mode
        if isinstance(vault, (str, Path)):
            vault = Vault(vault)
        self.session = PhiSession(session_id, seed=seed, vault=vault)
        self.patient = patient
        self.counts: Counter[str] = Counter()
        self.calls = 0  # detection passes run
        self._memo: OrderedDict[tuple[str, str | None], Deidentified] = OrderedDict()

    def __repr__(self) -> str:
        return f"PrivacyGate(mode={self.mode!r}, session={self.session.id!r})"

    def scrub_detailed(self, text: str, patient: str | None = None) -> Deidentified:
        key = (text, patient or self.patient)
        hit = self._memo.get(key)
        if hit is not None:
            self._memo.move_to_end(key)
            return hit
        res = self.deid.deidentify(text, self.session, self.mode, patient or self.patient)
        self.counts.update(res.counts)
        self.calls += 1
        self._memo[key] = res
        if len(self._memo) > self.MEMO_SIZE:
            self._memo.popitem(last=False)
        return res

    def scrub(self, text: str, patient: str | None = None) -> tuple[str, PhiSession]:
        """(text with PHI replaced, the session holding the mapping)."""
        return self.scrub_detailed(text, patient).text, self.session

    def scrubbed(self, text: str) -> str | None:
        """The scrubbed form of `text` if this gate already scrubbed it, else None (no pass)."""
        hit = self._memo.get((text, self.patient))
        return hit.text if hit is not None else None

    def scrub_messages(self, messages: Sequence[Message]) -> list[Message]:
        return [Message(role=m["role"], content=self.scrub(m["content"])[0]) for m in messages]

    def restore(self, text: str) -> str:
        if self.mode in ("redact", "tag"):
            return text  # nothing to map back
        return self.session.restore(text, unshift_dates=True)

    def record(self, on: bool = True, reason: str = ""):
        """The gate's decision and counts, as the audit log stores them (no text)."""
        from medllm.trust.audit_log import GateRecord

        return GateRecord(on=on, reason=reason, counts=dict(self.counts))


class GatedModel:
    """A `Model` that de-identifies every prompt before the wrapped model sees it and, unless
    `restore=False`, re-identifies its output. Put it around remote backends: their caches and
    logs then only ever hold scrubbed text. `restore=False` keeps the model's output as it came
    (over surrogates), for records that must not hold PHI (eval predictions)."""

    def __init__(self, inner: Model, gate: PrivacyGate, *, restore: bool = True):
        self.inner = inner
        self.gate = gate
        self.restore_output = restore
        extra = dict(inner.info.extra)
        extra["privacy_gate"] = gate.mode
        self.info = replace(inner.info, extra=extra) if isinstance(inner.info, ModelInfo) else inner.info

    def _out(self, text: str) -> str:
        return self.gate.restore(text) if self.restore_output else text

    def chat(self, messages: Sequence[Message], params: GenParams = GenParams()) -> Completion:
        out = self.inner.chat(self.gate.scrub_messages(messages), params)
        return replace(out, text=self._out(out.text))

    def chat_stream(self, messages: Sequence[Message], params: GenParams = GenParams()) -> Iterator[str]:
        # Surrogates can straddle chunk borders: collect, then restore once.
        text = "".join(self.inner.chat_stream(self.gate.scrub_messages(messages), params))
        yield self._out(text)

    def complete(self, prompt: str, params: GenParams = GenParams()) -> Completion:
        out = self.inner.complete(self.gate.scrub(prompt)[0], params)
        return replace(out, text=self._out(out.text))

    def loglikelihood(self, requests: Sequence[tuple[str, str]]) -> list[LoglikResult]:
        return self.inner.loglikelihood([(self.gate.scrub(c)[0], self.gate.scrub(x)[0]) for c, x in requests])

    def count_tokens(self, text: str) -> int:
        """Never de-identifies (no detection pass, no vault write, no counts) and never sends
        unscrubbed text out: a text the gate already scrubbed is counted by the backend in its
        scrubbed form; any other text is estimated here at 4 characters a token."""
        scrubbed = self.gate.scrubbed(text)
        if scrubbed is not None:
            return self.inner.count_tokens(scrubbed)
        return max(1, (len(text) + 3) // 4) if text else 0

    def close(self) -> None:
        self.inner.close()


def counts_table(counts: dict[str, int]) -> list[tuple[str, int]]:
    from medllm.trust.recognizers import PHI_LABELS

    return [(label, counts.get(label, 0)) for label in PHI_LABELS if counts.get(label)]
