"""The numpy side: streamed logit lens, quantized heads, and probes that find a planted signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emergetui.probe import lens as lens_mod
from emergetui.probe.lens import LensHead
from emergetui.probe.probes import cv_probe, probe_layers, stratified_folds


def _dense_logsoftmax(head: LensHead, h: np.ndarray) -> np.ndarray:
    lg = head.logits(h).astype(np.float64)
    m = lg.max(axis=1, keepdims=True)
    return lg - (m + np.log(np.exp(lg - m).sum(axis=1, keepdims=True)))


@pytest.mark.parametrize("variant", ["rms", "layernorm+bias+softcap"])
def test_streamed_lens_equals_dense(monkeypatch: pytest.MonkeyPatch, variant: str) -> None:
    rng = np.random.default_rng(0)
    v, d = 50, 16
    kw = {}
    if variant != "rms":
        kw = {
            "norm_b": rng.standard_normal(d),
            "layer_norm": True,
            "out_bias": rng.standard_normal(v),
            "softcap": 5.0,
        }
    head = LensHead(rng.standard_normal((v, d)).astype(np.float32), rng.random(d) + 0.5, 1e-5, **kw)
    monkeypatch.setattr(lens_mod, "_VOCAB_CHUNK", 7)  # many vocabulary chunks, a ragged last one
    monkeypatch.setattr(lens_mod, "_STATE_BLOCK", 4)
    h = rng.standard_normal((11, d)).astype(np.float32) * 3
    targets = rng.integers(0, v, 11)
    cands = np.stack([targets, (targets + 1) % v, np.full(11, -1)], axis=1)
    out = head.read(h, targets, cands)
    ref = _dense_logsoftmax(head, h)
    np.testing.assert_allclose(out.logp_target, ref[np.arange(11), targets], atol=1e-4)
    np.testing.assert_array_equal(out.argmax, ref.argmax(axis=1))
    dense = head.logits(h)
    np.testing.assert_allclose(
        out.cand_logits[:, :2], dense[np.arange(11)[:, None], cands[:, :2]], atol=1e-4
    )
    assert np.isnan(out.cand_logits[:, 2]).all()


def test_quantized_head_is_dequantized(tmp_path: Path) -> None:
    import gguf

    rng = np.random.default_rng(1)
    w = rng.standard_normal((64, 32)).astype(np.float32)
    path = tmp_path / "q.gguf"
    wr = gguf.GGUFWriter(str(path), "llama")
    wr.add_layer_norm_rms_eps(1e-6)
    wr.add_tensor("output_norm.weight", np.ones(32, dtype=np.float32))
    q = gguf.quants.quantize(w, gguf.GGMLQuantizationType.Q8_0)
    wr.add_tensor("output.weight", q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()
    head = LensHead.from_gguf(path)
    assert head.weight.shape == (64, 32) and head.eps == pytest.approx(1e-6)
    np.testing.assert_allclose(head.weight, w, atol=0.02 * np.abs(w).max())


def test_folds_are_stratified_and_seeded() -> None:
    y = np.array([0] * 10 + [1] * 5 + [2] * 15)
    f = stratified_folds(y, 5, seed=3)
    np.testing.assert_array_equal(f, stratified_folds(y, 5, seed=3))
    assert not np.array_equal(f, stratified_folds(y, 5, seed=4))
    for c, count in ((0, 10), (1, 5), (2, 15)):
        np.testing.assert_array_equal(np.bincount(f[y == c], minlength=5), np.full(5, count // 5))


def _planted(
    n: int = 90, layers: int = 4, d: int = 40, at: int = 2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.standard_normal((n, layers, d)).astype(np.float32)
    x[:, :, 0] *= (
        30.0  # a large nuisance dimension ("massive activation"): standardisation must cope
    )
    x[:, at] += 1.5 * rng.standard_normal((3, d))[y]
    return x, y


@pytest.mark.parametrize("method", ["ridge", "logistic"])
def test_probe_finds_planted_layer(method: str) -> None:
    x, y = _planted(n=60, layers=3, d=24, at=1)
    acc, ctl, last = probe_layers(x, y, k=3, seed=0, method=method)
    assert acc[1] > 0.9
    assert np.delete(acc, 1).max() < 0.65
    assert np.nanmax(ctl) < 0.65  # shuffled labels: nothing to read
    assert last.n == 60 and last.n_classes == 3


def test_probe_degenerate_inputs() -> None:
    x = np.random.default_rng(0).standard_normal((20, 5))
    one = cv_probe(x, np.zeros(20, dtype=int), k=5)
    assert np.isnan(one.accuracy) and one.majority == 1.0
    few = cv_probe(x[:6], np.array([0, 1, 0, 1, 0, 1]), k=5)
    assert np.isnan(few.accuracy)
    labels = np.array(["a", "b"] * 10)  # any hashable labels (e.g. token ids) work
    assert cv_probe(x, labels, k=2).n_classes == 2
