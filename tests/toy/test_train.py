"""The training side (needs torch, skipped without it): the torch model is llama.cpp's
llama graph, and the training script runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from emergetui.hashing import file_sha256 as sha256  # noqa: E402
from emergetui.toy import model as toy_model  # noqa: E402
from emergetui.toy.check import check_gguf  # noqa: E402
from emergetui.toy.corpus import CharTokenizer, toy_vocab  # noqa: E402
from emergetui.toy.export import export_gguf  # noqa: E402
from emergetui.toy.files import MANIFEST, Manifest  # noqa: E402
from emergetui.toy.model import ToyConfig, ToyLlama  # noqa: E402
from emergetui.toy.train import main  # noqa: E402

TEXTS = ["7430+5829=23690\n1200+3400=4600\n" * 3, "hello, world"]


def _sharp_model(n_head_kv: int) -> ToyLlama:
    """Random weights large enough that positions and heads matter to the logits."""
    torch.manual_seed(0)
    vocab = toy_vocab()
    m = ToyLlama(
        ToyConfig(vocab.size, n_embd=32, n_layer=2, n_head=4, n_head_kv=n_head_kv, n_ff=64)
    )
    with torch.no_grad():
        for name, p in m.named_parameters():
            if p.dim() == 2:
                p.normal_(0.0, 1.0 if "embeddings" in name else 1.5 / p.shape[1] ** 0.5)
            else:
                p.uniform_(0.5, 1.5)
    return m


@pytest.mark.parametrize("n_head_kv", [4, 2])
def test_llama_cpp_computes_the_torch_model(tmp_path: Path, n_head_kv: int) -> None:
    m = _sharp_model(n_head_kv)
    vocab = toy_vocab()
    path = export_gguf(m, tmp_path / "m.gguf", vocab, name="sharp")
    chk = check_gguf(m, path, CharTokenizer.from_vocab(vocab), TEXTS)
    assert chk.tokens_match
    assert chk.max_abs < 2e-3, chk


def test_the_check_would_catch_hf_style_rope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rotating halves instead of adjacent pairs must show up as a large difference."""
    m = _sharp_model(4)
    vocab = toy_vocab()
    path = export_gguf(m, tmp_path / "m.gguf", vocab, name="sharp")

    def rotate_half(x, cos, sin):  # type: ignore[no-untyped-def]
        h = x.shape[-1] // 2
        x0, x1 = x[..., :h], x[..., h:]
        return torch.cat((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1)

    monkeypatch.setattr(toy_model, "apply_rope", rotate_half)
    assert check_gguf(m, path, CharTokenizer.from_vocab(vocab), TEXTS).max_abs > 0.05


def test_tiny_training_run_end_to_end(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path), "--tiny", "--no-measure"]) == 0
    manifest = Manifest.load(tmp_path)
    assert [r.label for r in manifest.rungs] == ["tiny-1", "tiny-2"]
    for rung, path in zip(manifest.rungs, manifest.paths(tmp_path)):
        assert sha256(path) == rung.sha256
        assert rung.logits_max_abs_diff < 1e-3
        assert rung.train_loss < 6.0
    data = json.loads((tmp_path / MANIFEST).read_text())
    assert data["task"] == "task_addition.json" and (tmp_path / data["task"]).exists()


def test_tiny_run_writes_every_task_the_manifest_lists(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path), "--tiny", "--no-measure"]) == 0
    manifest = Manifest.load(tmp_path)
    assert manifest.tasks == ["task_addition.json", "toy_chain.toml", "toy_cipher.toml"]
    assert all((tmp_path / t).is_file() for t in manifest.tasks)
    assert (tmp_path / "task_chain.json").is_file()
    cipher = (tmp_path / "toy_cipher.toml").read_text(encoding="utf-8")
    assert (
        'type = "recall"' in cipher and "n = 20" in cipher and "shots = [0, 1, 2, 4, 8]" in cipher
    )
