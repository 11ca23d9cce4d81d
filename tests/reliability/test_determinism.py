"""Determinism: the same seed and the same model files give bit-identical stored results and
reports.

What holds exactly: two runs of one experiment (other process, other store,
other llama.cpp thread count) store the same bits, raw log-probabilities
included, and write byte-identical reports and exports.

What holds only within a tolerance: the engine's batch geometry (``n_batch``,
``n_seq_max``) and which other requests share a decode. llama.cpp's CPU
kernels sum in a different order for differently shaped batches, so the
per-token log-probabilities move in the last float32 bits: measured max
~1e-5 nats on the tiny models (recorded as the ``max_abs_logprob_diff``
property). Tokens, greedy flags and greedy generations do not change. The
runner does not expose ``n_batch`` / ``n_seq_max`` (RunConfig has no such
field), so a stored run always uses the engine defaults.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from emergetui import Engine
from emergetui.cli import main

from .conftest import CleanRun
from .support import PACKING_TOL, batch_args, item_rows, max_float_diff

PAIRS = [(f"\nQ: {i} plus {i % 5}\nA: ", c) for i in range(12) for c in (" 1", " 2", " the")]
PAIRS += [
    ("The following are questions.\n\nQ: 12+34=\nA: 46\n\nQ: 7+8=\nA:", c)
    for c in (" 15", " 16", "\n")
]
PROMPTS = [f"\nQ: {i} times 2\nA: " for i in range(6)] + ["", "the the the"]
#: (n_batch, n_seq_max): the defaults, then small batches that force chunked prefill and many waves
GEOMETRIES = [(2048, 64), (16, 4), (64, 8), (512, 2)]


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _cli(argv: list[str]) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(argv) == 0, err.getvalue()
    return out.getvalue()


@pytest.mark.slow
def test_same_inputs_give_bit_identical_rows_reports_and_exports(
    tmp_path: Path, tiny_ladder: Path, mix_task: Path, clean_run: CleanRun
) -> None:
    store = tmp_path / "again.sqlite"
    doc = json.loads(_cli(batch_args(tiny_ladder, mix_task, store)))
    assert doc == clean_run.doc  # the run document, bootstrap intervals and verdicts included
    rows = item_rows(store, clean_run.run_id)
    assert rows == clean_run.rows  # ==, not approx: every float bit of the raw material

    for name, db in (("a", clean_run.store), ("b", store)):
        _cli(
            [
                "report",
                clean_run.run_id,
                "--store",
                str(db),
                "--out",
                str(tmp_path / f"report-{name}"),
            ]
        )
        _cli(
            [
                "export",
                clean_run.run_id,
                "--store",
                str(db),
                "--out",
                str(tmp_path / f"export-{name}.jsonl"),
            ]
        )
    a, b = _files(tmp_path / "report-a"), _files(tmp_path / "report-b")
    assert a and a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []
    assert (tmp_path / "export-a.jsonl").read_bytes() == (tmp_path / "export-b.jsonl").read_bytes()


@pytest.fixture(scope="module")
def reference(tiny_model_b: Path) -> tuple[list, list]:
    with Engine.load(tiny_model_b, n_gpu_layers=0, n_threads=1) as e:
        return e.score(PAIRS), e.generate(PROMPTS, max_tokens=6, stop=["\n"])


def test_thread_count_and_reloading_do_not_change_a_bit(
    tiny_model_b: Path, reference: tuple[list, list]
) -> None:
    """Why the reliability tests may pin llama.cpp to one thread: the numbers are the same with two.

    (A small workload: two spinning threads on a busy 2-core machine are slow.)
    """
    with Engine.load(tiny_model_b, n_gpu_layers=0, n_threads=1) as e:  # reloaded: same bits
        assert e.score(PAIRS) == reference[0]
        one = e.score(PAIRS[-6:]), e.generate(PROMPTS[:2], max_tokens=3, stop=["\n"])
    with Engine.load(tiny_model_b, n_gpu_layers=0, n_threads=2) as e:
        assert (e.score(PAIRS[-6:]), e.generate(PROMPTS[:2], max_tokens=3, stop=["\n"])) == one


@pytest.mark.parametrize(("n_batch", "n_seq_max"), GEOMETRIES[1:])
def test_batch_geometry_changes_only_the_last_float_bits(
    tiny_model_b: Path,
    reference: tuple[list, list],
    n_batch: int,
    n_seq_max: int,
    record_property: pytest.RecordProperty,
) -> None:
    with Engine.load(
        tiny_model_b, n_gpu_layers=0, n_threads=1, n_batch=n_batch, n_seq_max=n_seq_max
    ) as e:
        scored, generated = e.score(PAIRS), e.generate(PROMPTS, max_tokens=6, stop=["\n"])
        assert e.score(PAIRS) == scored  # the same geometry twice: bit-identical
    want_scored, want_generated = reference
    assert [(s.tokens, s.greedy, s.error) for s in scored] == [
        (s.tokens, s.greedy, s.error) for s in want_scored
    ]
    assert [(g.text, g.tokens, g.stop_reason) for g in generated] == [
        (g.text, g.tokens, g.stop_reason) for g in want_generated
    ]
    diff = max(
        max_float_diff([s.logprobs for s in scored], [s.logprobs for s in want_scored]),
        max_float_diff([g.logprobs for g in generated], [g.logprobs for g in want_generated]),
    )
    record_property("max_abs_logprob_diff", diff)
    assert diff <= PACKING_TOL


@pytest.mark.xfail(
    reason="llama.cpp's CPU kernels reduce in a batch-shape dependent order: "
    "~1e-5 nats apart, see test_batch_geometry_changes_only_the_last_float_bits",
    strict=False,
)
def test_batch_geometry_bit_identical(tiny_model_b: Path, reference: tuple[list, list]) -> None:
    """Kept as an expected failure so that the gap stays visible (and an XPASS shows if it
    closes).
    """
    n_batch, n_seq_max = GEOMETRIES[2]
    with Engine.load(
        tiny_model_b, n_gpu_layers=0, n_threads=1, n_batch=n_batch, n_seq_max=n_seq_max
    ) as e:
        assert [s.logprobs for s in e.score(PAIRS)] == [s.logprobs for s in reference[0]]
