"""Every model backend behind one protocol, named by a spec string.

    llamacpp:gemma3-270m                      a model packaged on PyPI (see `medllm models list`)
    llamacpp:/path/to/model.gguf              any GGUF file
    llamacpp:NAME+/path/to/adapter.gguf       a model plus a LoRA adapter (`medllm train` writes them)
    openai:http://127.0.0.1:8000/v1#name      any OpenAI-compatible server (vLLM, llama.cpp ...)
    qwen2.5-coder-0.5b-instruct               a packaged name alone means llamacpp:
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from medllm.config import Settings, load_settings
from medllm.models.base import (
    BackendUnavailable,
    Completion,
    ContextTooLong,
    GenParams,
    LoglikResult,
    Message,
    Model,
    ModelError,
    ModelInfo,
    ModelNotFound,
)
from medllm.models.registry import PACKAGED

BACKENDS = ("llamacpp", "openai")

__all__ = [
    "BACKENDS", "BackendUnavailable", "Completion", "ContextTooLong", "GenParams",
    "LoglikResult", "Message", "Model", "ModelError", "ModelInfo", "ModelNotFound", "PACKAGED",
    "ModelSpec", "load_model", "parse_spec",
]


@dataclass(frozen=True)
class ModelSpec:
    backend: str
    target: str  # packaged name or GGUF path (llamacpp); base URL (openai)
    name: str | None = None  # the served model's name (openai)
    adapter: str | None = None  # a LoRA adapter GGUF applied over the model (llamacpp)

    def __str__(self) -> str:
        return (f"{self.backend}:{self.target}" + (f"+{self.adapter}" if self.adapter else "")
                + (f"#{self.name}" if self.name else ""))

    @property
    def remote(self) -> bool:
        return self.backend == "openai"


def parse_spec(spec: str) -> ModelSpec:
    spec = spec.strip()
    if not spec:
        raise ModelNotFound("empty model spec; try llamacpp:qwen2.5-coder-1.5b-instruct")
    if spec in PACKAGED:
        return ModelSpec("llamacpp", spec)
    backend, sep, rest = spec.partition(":")
    if not sep or backend not in BACKENDS or not rest:
        raise ModelNotFound(
            f"unknown model spec {spec!r}. Use llamacpp:NAME (packaged: {', '.join(PACKAGED)}),"
            " llamacpp:/path/model.gguf, or openai:http://HOST:PORT/v1#MODEL"
        )
    if backend == "openai":
        url, _, name = rest.partition("#")
        if not url.startswith(("http://", "https://")):
            raise ModelNotFound(f"openai spec needs a URL, e.g. openai:http://127.0.0.1:8000/v1#name; got {spec!r}")
        return ModelSpec("openai", url, name or None)
    target, plus, adapter = rest.partition("+")
    if plus and not (target and adapter.lower().endswith(".gguf")):
        raise ModelNotFound(f"a model with an adapter is llamacpp:MODEL+/path/adapter.gguf; got {spec!r}")
    return ModelSpec("llamacpp", target, adapter=adapter or None)


def _served_model_name(base_url: str, timeout: float) -> str:
    import httpx

    try:
        r = httpx.get(f"{base_url.rstrip('/')}/models", timeout=timeout)
        ids = [m["id"] for m in r.json().get("data", [])]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as e:
        raise BackendUnavailable(f"cannot list models at {base_url}/models ({e}); add #MODEL to the spec") from None
    if len(ids) != 1:
        raise ModelNotFound(f"server {base_url} serves {ids or 'no models'}; name one with #MODEL")
    return ids[0]


def _file_identity(path: Path) -> str:
    st = path.stat()
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


def resolve_adapter(path_str: str) -> Path:
    """A LoRA adapter path to a checked local file (`medllm train` writes RUN_DIR/adapter.gguf)."""
    from medllm.models.registry import check_gguf

    return check_gguf(Path(path_str).expanduser(), what="adapter file", where="`medllm train` writes RUN_DIR/adapter.gguf",
                      hint="rerun its `medllm train` command to export it again")


def load_model(spec: str, settings: Settings | None = None, *, cache: bool | None = None) -> Model:
    """Open the model a spec names. With `cache` (default: the `cache` setting), deterministic
    calls are answered from the SQLite response cache when repeated."""
    s = settings or load_settings()
    ms = parse_spec(spec)
    model: Model
    if ms.backend == "llamacpp":
        from medllm.models.llamacpp import LlamaCppModel
        from medllm.models.registry import resolve_gguf

        assert s.models_dir is not None
        path = resolve_gguf(ms.target, s.models_dir)
        adapter = resolve_adapter(ms.adapter) if ms.adapter else None
        model = LlamaCppModel(path, str(ms), n_ctx=s.n_ctx, n_threads=s.n_threads, seed=s.seed, lora_path=adapter)
        ident = PACKAGED[ms.target].sha256 if ms.target in PACKAGED else _file_identity(path)
        model.info.extra["identity"] = ident + (f"+{_file_identity(adapter)}" if adapter else "")
    else:
        from medllm.models.openai import OpenAIModel

        name = ms.name or _served_model_name(ms.target, s.request_timeout)
        model = OpenAIModel(
            ms.target,
            name,
            str(ModelSpec("openai", ms.target, name)),
            timeout=s.request_timeout,
            max_retries=s.max_retries,
            concurrency=s.concurrency,
        )
        model.info.extra["identity"] = f"{ms.target}#{name}"
    if cache if cache is not None else s.cache:
        from medllm.models.cache import CachedModel, ResponseCache

        model = CachedModel(model, ResponseCache(s.cache_path))
    return model
