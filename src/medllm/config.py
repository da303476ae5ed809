"""Settings: one place for defaults, read from a TOML file and `MEDLLM_*` environment variables.

Precedence (highest first): environment variable, `$MEDLLM_HOME/config.toml`, the default here.
`MEDLLM_HOME` (default `~/.medllm`) is the one home for caches, assembled models and indexes.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path


class ConfigError(ValueError):
    """A setting has a value that cannot be used."""


# The de-identifier's operating points (the shipped token model has a threshold for each:
# medllm.trust.privacy.learned.OPERATING_POINTS).
DEID_OPERATING_POINTS: tuple[str, ...] = ("recall", "balanced")


def home() -> Path:
    return Path(os.environ.get("MEDLLM_HOME", "~/.medllm")).expanduser()


@dataclass
class Settings:
    home: Path = field(default_factory=home)
    # Assembled GGUF files; defaults to $MEDLLM_HOME/models. Share it across homes to assemble
    # each packaged model once per machine.
    models_dir: Path | None = None
    # The knowledge graph's cache (public ontology data only); defaults to $MEDLLM_HOME/kg.
    kg_dir: Path | None = None
    # A phenotype.hpoa (HPO disease annotations) to use instead of the release bundled in hpo3.
    hpoa: Path | None = None
    # The model `medllm ask` uses when no --model is given.
    default_model: str = "llamacpp:qwen2.5-coder-1.5b-instruct"
    # A fast model for tests and quick checks.
    fast_model: str = "llamacpp:qwen2.5-coder-0.5b-instruct"
    n_ctx: int = 4096
    n_threads: int = 0  # 0 = all cores
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int = 0
    cache: bool = True  # persistent response cache for deterministic calls
    request_timeout: float = 120.0  # seconds, remote backends
    max_retries: int = 4
    concurrency: int = 4  # in-flight requests to a remote backend
    # The privacy gate: "auto" = on for remote (openai:) backends, off for in-process ones.
    privacy_gate: str = "auto"
    # The de-identifier's operating point (the token model's threshold): "recall" (default: the
    # gate in front of a remote model, fewer leaks, a few more clinical words masked) or
    # "balanced" (higher precision). README gives both points' figures (benchmarks/deid.py).
    deid_operating_point: str = "recall"
    # Safety triage (medllm.trust.triage): emergencies from present findings and the red-flag
    # table; the classifier's p(emergency) raises a present concerning finding to urgent from
    # `emergency_no_judge` and to emergency from `emergency_high` (judge, when set, between `low`
    # and `high`); p(harmful) refuses alone from `refuse_high`, and its band from
    # `refuse_no_judge` gets a safe completion. Chosen on cross-fitted scores by
    # `make triage-weights`; benchmarks/safety.py measures them on folds not fitted on.
    # The judge ("probe", a llamacpp: model spec, or "off") is off by default: the findings gate
    # does what it did, and it is not measured in this design.
    triage_judge: str = "off"
    triage_emergency_low: float = 0.089
    triage_emergency_high: float = 0.753
    triage_refuse_low: float = 0.277
    triage_refuse_high: float = 0.928
    triage_judge_yes: float = 0.5
    triage_emergency_no_judge: float = 0.409
    triage_refuse_no_judge: float = 0.434
    triage_urgent_min: float = 0.5  # an emergency is called 'urgent' (same day) from this p(urgent)

    @property
    def cache_path(self) -> Path:
        return self.home / "cache" / "responses.sqlite"

    @property
    def indexes_dir(self) -> Path:
        return self.home / "indexes"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"


def _coerce(name: str, raw: object, kind: type) -> object:
    if kind is bool or kind == "bool":
        if isinstance(raw, bool):
            return raw
        s = str(raw).strip().lower()
        if s in ("1", "true", "yes", "on"):
            return True
        if s in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"setting {name}={raw!r}: expected true or false")
    try:
        if kind is int or kind == "int":
            return int(raw)  # type: ignore[arg-type]
        if kind is float or kind == "float":
            return float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name}={raw!r}: expected a number") from None
    if kind in (Path, "Path", "Path | None"):
        return Path(str(raw)).expanduser()
    return str(raw)


def load_settings(**overrides: object) -> Settings:
    """Defaults, then the config file, then `MEDLLM_*` environment variables, then `overrides`."""
    s = Settings()
    cfg = s.home / "config.toml"
    values: dict[str, object] = {}
    if cfg.exists():
        try:
            values.update(tomllib.loads(cfg.read_text()))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{cfg}: not valid TOML ({e}); fix or delete the file") from None
    for f in fields(Settings):
        env = os.environ.get(f"MEDLLM_{f.name.upper()}")
        if env is not None:
            values[f.name] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name: f for f in fields(Settings)}
    for name, raw in values.items():
        if name not in known:
            raise ConfigError(f"unknown setting {name!r} in {cfg}; known: {', '.join(known)}")
        setattr(s, name, _coerce(name, raw, known[name].type))  # type: ignore[arg-type]
    if s.models_dir is None:
        s.models_dir = s.home / "models"
    if s.kg_dir is None:
        s.kg_dir = s.home / "kg"
    if s.privacy_gate not in ("auto", "on", "off"):
        raise ConfigError(f"privacy_gate={s.privacy_gate!r}: use auto, on or off")
    if s.deid_operating_point not in DEID_OPERATING_POINTS:
        raise ConfigError(f"deid_operating_point={s.deid_operating_point!r}: use "
                          f"{' or '.join(DEID_OPERATING_POINTS)}")
    return s
