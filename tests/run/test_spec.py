"""The typed experiment spec: both front ends fill it, the same choices give the same run."""

from __future__ import annotations

from pathlib import Path

from emergetui.cli.parsers import main_parser, spec_from_args
from emergetui.run.spec import ExperimentSpec, build_experiment


def test_cli_arguments_become_a_typed_spec(tmp_path: Path) -> None:
    args = main_parser().parse_args(
        [
            "--batch",
            "--rungs",
            "toy-1,toy-3",
            "--task",
            "arith-1digit-add",
            "--shots",
            "0,2",
            "--limit",
            "5",
            "--seed",
            "3",
            "--n-gpu-layers",
            "4",
            "--no-heldout",
            "--probe",
        ]
    )
    spec = spec_from_args(args)
    assert spec == ExperimentSpec(
        rungs=("toy-1", "toy-3"),
        tasks=("arith-1digit-add",),
        shots=(0, 2),
        limit=5,
        seed=3,
        n_gpu_layers=4,
        heldout=False,
        probe=True,
    )


def test_the_same_spec_gives_the_same_run_id_and_resuming_rebuilds_it() -> None:
    spec = ExperimentSpec(
        rungs=("toy-1", "toy-2"), tasks=("arith-1digit-add",), shots=(0, 1), limit=3
    )
    first = build_experiment(spec).config
    assert build_experiment(spec.replace()).config.run_id() == first.run_id()
    resumed = ExperimentSpec().resuming(first.identity())
    assert build_experiment(resumed).config.run_id() == first.run_id()
    assert build_experiment(spec.replace(seed=1)).config.run_id() != first.run_id()


def test_no_arguments_is_the_demo_and_the_demo_keeps_only_how_to_run() -> None:
    """`emergetui` with no arguments is the demo (the lab opens on its tab); a spec that chose
    an experiment is not, and its demo() keeps only how to run it."""
    bare = spec_from_args(main_parser().parse_args([]))
    assert bare == bare.demo() == ExperimentSpec()
    chosen = ExperimentSpec(
        ladder="qwen2.5-instruct", shots=(0, 3), limit=5, threads=2, rpc=("h:1",)
    )
    assert chosen != chosen.demo()
    assert chosen.demo() == ExperimentSpec(threads=2, rpc=("h:1",))
