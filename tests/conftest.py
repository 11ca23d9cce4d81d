"""Shared fixtures: tiny real GGUF models written with the ``gguf`` package, cached per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from emergetui.models.gguf_writer import (
    LlamaShape,
    byte_spm_vocab,
    random_llama_weights,
    vocab_from_gguf,
    write_llama_gguf,
)

REPO = Path(__file__).resolve().parents[1]

# Layers the engine and capture tests offload: 0 in CI; a GPU machine runs the
# same equivalence tests through CUDA with EMERGETUI_TEST_GPU_LAYERS=-1.
# EMERGETUI_TEST_FLASH_ATTN=0/1 forces flash attention off/on there (default: the engine's choice).
GPU_LAYERS = int(os.environ.get("EMERGETUI_TEST_GPU_LAYERS", "0"))
_FA = os.environ.get("EMERGETUI_TEST_FLASH_ATTN", "")
ENGINE_KW: dict = {"n_gpu_layers": GPU_LAYERS, **({"flash_attn": _FA == "1"} if _FA else {})}


# Real third-party files the tests read (BIG-bench tasks, the Qwen2 vocabulary), with their notices.
FIXTURES = REPO / "tests" / "fixtures"


EXTRA_TOKENS = [
    "\u2581the",
    "\u2581a",
    "th",
    "he",
    "in",
    "er",
    "an",
    "\u2581is",
    "\u2581of",
    "12",
    "34",
]


def write_tiny(
    path: Path, seed: int = 0, n_embd: int = 32, n_layer: int = 2, n_ctx: int = 2048
) -> Path:
    vocab = byte_spm_vocab(EXTRA_TOKENS)
    shape = LlamaShape(
        n_vocab=vocab.size,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=4,
        n_head_kv=2,
        n_ff=n_embd * 2,
        n_ctx=n_ctx,
    )
    return write_llama_gguf(
        path, shape, vocab, random_llama_weights(shape, seed=seed), name=f"tiny-{seed}"
    )


@pytest.fixture(scope="session")
def _header_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("emergetui-cache")


@pytest.fixture(autouse=True)
def _private_cache(_header_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests (and the processes they start) keep the GGUF header cache out of the user's."""
    monkeypatch.setenv("EMERGETUI_CACHE_DIR", str(_header_cache_dir))


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_model(model_dir: Path) -> Path:
    """A 2-layer llama with a ~370-token byte-fallback SentencePiece vocabulary."""
    return write_tiny(model_dir / "tiny-a.gguf", seed=0)


@pytest.fixture(scope="session")
def tiny_model_b(model_dir: Path) -> Path:
    """A second, wider tiny model: the upper rung of a two-rung test ladder."""
    return write_tiny(model_dir / "tiny-b.gguf", seed=1, n_embd=48, n_layer=3)


@pytest.fixture(scope="session")
def qwen_vocab_path() -> Path:
    return FIXTURES / "vocab" / "ggml-vocab-qwen2.gguf"


@pytest.fixture(scope="session")
def qwen_tiny_model(model_dir: Path, qwen_vocab_path: Path) -> Path:
    """A tiny random llama carrying the real Qwen2 tokenizer (151k tokens, BPE)."""
    vocab = vocab_from_gguf(qwen_vocab_path)
    shape = LlamaShape(
        n_vocab=vocab.size, n_embd=16, n_layer=1, n_head=2, n_head_kv=1, n_ff=32, tied=True
    )
    return write_llama_gguf(
        model_dir / "tiny-qwen2.gguf",
        shape,
        vocab,
        random_llama_weights(shape, seed=3),
        name="tiny-qwen2",
        f16=True,
    )
