"""Axis values without a model: compute, bits per byte, midpoints carried across axes."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pytest

from emergetui.analysis.axes import AxisError, RungAxes, bits_per_byte, check_axis, map_log_params
from emergetui.cli.multi import series_ladders
from emergetui.errors import CliError
from emergetui.models.gguf_writer import LlamaShape
from emergetui.models.param_count import param_count
from tests.conftest import write_tiny


def test_flops_is_6nd_and_missing_tokens_leave_the_axis() -> None:
    r = RungAxes("a", 10**9, train_tokens=2e12)
    assert r.flops == pytest.approx(1.2e22)
    assert r.value("flops") == pytest.approx(math.log10(1.2e22))
    assert RungAxes("b", 10**9).value("flops") is None
    with pytest.raises(AxisError, match="choose from params, flops, loss"):
        check_axis("tokens")


def test_bits_per_byte_from_stored_or_converted_nats() -> None:
    assert bits_per_byte({"bpb": 1.25, "loss": 9.0}) == 1.25
    # 1000 tokens at 2 nats each over 4000 bytes: 2000 / ln 2 bits / 4000 bytes
    got = bits_per_byte({"loss": 2.0, "tokens": 1000, "bytes": 4000})
    assert got == pytest.approx(2000 / math.log(2) / 4000)
    assert bits_per_byte({"loss": 2.0, "tokens": 1000}) is None
    assert bits_per_byte(None) is None


def test_midpoint_carried_to_compute_is_a_shift_for_one_token_count() -> None:
    rungs = [RungAxes(str(n), n, train_tokens=1e12) for n in (10**8, 10**9, 10**10)]
    assert map_log_params(8.5, rungs, "flops") == pytest.approx(8.5 + math.log10(6e12))
    lossy = [RungAxes("a", 10**8, bits_per_byte=1.2), RungAxes("b", 10**10, bits_per_byte=0.8)]
    assert map_log_params(9.0, lossy, "loss") == pytest.approx(1.0)
    assert map_log_params(9.0, lossy[:1], "loss") is None


def test_non_embedding_params_from_the_header(tmp_path: Path) -> None:
    path = write_tiny(tmp_path / "t.gguf", n_embd=32, n_layer=2)
    count = param_count(path)
    from emergetui.models.gguf_writer import vocab_from_gguf

    shape = LlamaShape(n_vocab=len(vocab_from_gguf(path).tokens), n_embd=32, n_layer=2, n_ff=64)
    assert count.total == shape.n_params()
    assert count.non_embedding == count.total - 2 * shape.n_vocab * 32  # untied head


def test_quants_expand_each_ladder_into_series() -> None:
    ns = argparse.Namespace(ladder=["qwen3", "smollm2"], quants="Q4_K_M, Q8_0")
    assert series_ladders(ns) == ["qwen3@Q4_K_M", "qwen3@Q8_0", "smollm2@Q4_K_M", "smollm2@Q8_0"]
    assert series_ladders(argparse.Namespace(ladder=None, quants=None)) == ["toy"]
    with pytest.raises(CliError, match="given twice"):
        series_ladders(argparse.Namespace(ladder=["toy", "toy"], quants=None))


def test_the_parser_spells_the_analysis_axes() -> None:
    from emergetui.analysis.axes import AXES
    from emergetui.cli.compare import AXIS_CHOICES

    assert AXIS_CHOICES == AXES


def test_loss_onset_interval_past_the_ladder_is_open() -> None:
    from emergetui.analysis.compare import _mapped_midpoint

    class S:  # the one attribute _mapped_midpoint reads
        rungs = [RungAxes("a", 10**8, bits_per_byte=1.2), RungAxes("b", 10**10, bits_per_byte=0.8)]

    mid, ci = _mapped_midpoint(9.0, (8.5, 11.0), S(), "loss")  # type: ignore[arg-type]
    assert mid == pytest.approx(1.0) and ci == (-math.inf, pytest.approx(1.1))
    mid, ci = _mapped_midpoint(9.0, (7.0, 9.5), S(), "loss")  # type: ignore[arg-type]
    assert ci == (pytest.approx(0.9), math.inf)
    # compute extends along the end segments: exact for one token count
    assert _mapped_midpoint(9.0, (7.0, 11.0), S(), "params")[1] == (7.0, 11.0)  # type: ignore[arg-type]


def test_cross_family_line_agrees_only_when_intervals_overlap() -> None:
    from emergetui.analysis.compare import OverlayCurve, cross_family

    a = OverlayCurve("qwen3", "exact_match", [], "emergent", 9.0, (8.8, 9.3))
    b = OverlayCurve("smollm2", "exact_match", [], "emergent", 9.2, (9.1, 9.6))
    c = OverlayCurve("gemma3", "exact_match", [], "emergent", 10.1, (9.9, 10.4))
    assert cross_family([a, b], "params").agree is True
    line = cross_family([a, b, c], "params")
    assert line.agree is False and line.summary.startswith("midpoints differ")
    assert "gemma3 10.10 [9.90, 10.40]" in line.text
    assert cross_family([a], "loss").agree is None
