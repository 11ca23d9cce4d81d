"""rpc = [...] in models.toml and the fitter counting the servers' memory (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emergetui.models.fit import GB, Memory, fit_rung
from emergetui.models.gguf_info import read_model_info
from emergetui.models.ladders import LadderError, parse_ladder_file
from emergetui.run.spec import ExperimentSpec, build_experiment


def _ladder(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "models.toml"
    p.write_text(body)
    return p


def test_rpc_per_ladder_and_per_rung(tmp_path: Path, tiny_model: Path) -> None:
    p = _ladder(
        tmp_path,
        "[ladders.split]\n"
        'rpc = ["10.0.0.2:50052", "gpu-box:50053"]\n'
        "rungs = [\n"
        f'  {{ label = "a", params = 1, path = "{tiny_model}" }},\n'
        f'  {{ label = "b", params = 2, path = "{tiny_model}", rpc = ["[::1]:7"] }},\n'
        f'  {{ label = "c", params = 3, path = "{tiny_model}", rpc = [] }},\n'
        "]\n",
    )
    rungs = {r.label: r.rpc for r in parse_ladder_file(p)["split"].rungs}
    assert rungs == {"a": ("10.0.0.2:50052", "gpu-box:50053"), "b": ("[::1]:7",), "c": ()}


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ('"10.0.0.2:50052"', "ladders.split.rpc: must be an array"),
        ('["10.0.0.2"]', "ladders.split.rpc[0]: '10.0.0.2' is not HOST:PORT"),
        ('["ok:1", "bad host:2"]', "ladders.split.rpc[1]"),
        ('["h:70000"]', "ladders.split.rpc[0]"),
    ],
)
def test_bad_rpc_names_file_and_key(
    tmp_path: Path, tiny_model: Path, value: str, where: str
) -> None:
    p = _ladder(
        tmp_path,
        f"[ladders.split]\nrpc = {value}\n"
        f'rungs = [{{ label = "a", params = 1, path = "{tiny_model}" }}]\n',
    )
    with pytest.raises(LadderError, match=rf"{p}: {where}".replace("[", r"\[").replace("]", r"\]")):
        parse_ladder_file(p)


def test_spec_rpc_reaches_the_rungs_unless_the_rung_has_its_own(
    tmp_path: Path, tiny_model: Path
) -> None:
    p = _ladder(
        tmp_path,
        "[ladders.split]\nrungs = [\n"
        f'  {{ label = "a", params = 1, path = "{tiny_model}" }},\n'
        f'  {{ label = "b", params = 2, path = "{tiny_model}", rpc = ["h:1"] }},\n'
        "]\n",
    )
    spec = ExperimentSpec(ladder=str(p), tasks=("arith-2digit-add",), limit=2, rpc=("x:9",))
    exp = build_experiment(spec)
    assert exp.config.rpc == ("x:9",)
    assert [r.rpc for r in exp.config.rungs] == [(), ("h:1",)]
    plain = build_experiment(spec.replace(rpc=()))
    assert plain.config.run_id() == exp.config.run_id()  # where layers run is not the experiment


def test_fit_counts_rpc_servers_memory(tiny_model: Path) -> None:
    info = read_model_info(tiny_model)
    small_ram = Memory(ram_free=1 * GB, source="test")
    d = fit_rung("t", info, small_ram, n_ctx=512)
    assert d.fits and d.n_gpu_layers == 0 and "CPU only" in d.reason
    with_rpc = Memory(ram_free=1 * GB, remote_free=8 * GB, source="test + 2 RPC server(s)")
    d = fit_rung("t", info, with_rpc, n_ctx=512)
    assert d.fits and d.n_gpu_layers == -1
    assert "layers on devices" in d.reason and "8.0 GB free RPC servers" in d.reason


def test_fit_a_model_too_big_for_ram_alone_fits_with_servers() -> None:
    """A 47 GB model (72B Q4_K_M) on a 16 GB machine: refused alone, split with two 24 GB
    servers.
    """
    from emergetui.models.gguf_info import GGUFHeader

    layer = 580_000_000
    info = GGUFHeader(
        path=Path("qwen72b.gguf"),
        architecture="qwen2",
        n_layers=80,
        context_length=32768,
        n_embd=8192,
        n_head=64,
        n_head_kv=8,
        key_length=None,
        value_length=None,
        n_vocab=152064,
        tensor_bytes=80 * layer + 1_000_000_000,
        layer_bytes=[layer] * 80,
    )
    alone = fit_rung("72B", info, Memory(ram_free=16 * GB), n_ctx=4096)
    assert not alone.fits and "cannot run" in alone.reason
    split = fit_rung("72B", info, Memory(ram_free=16 * GB, remote_free=48 * GB), n_ctx=4096)
    assert split.fits and 0 < split.n_gpu_layers < 80
    assert f"{split.n_gpu_layers} of 80 layers on devices" in split.reason


def test_fit_partial_offload_to_servers(tiny_model: Path) -> None:
    info = read_model_info(tiny_model)
    per = fit_rung("t", info, Memory(ram_free=64 * GB, remote_free=1), n_ctx=512)
    assert per.fits and per.n_gpu_layers == 0 and "free RPC servers" in per.reason


def test_lab_and_batch_take_rpc_from_the_command_line() -> None:
    """`emergetui --rpc ...` (the lab) and `--batch --rpc ...` fill the same spec field."""
    from emergetui.cli.parsers import main_parser, spec_from_args

    spec = spec_from_args(
        main_parser().parse_args(["--rpc", "10.0.0.2:50052, gpu:1,10.0.0.2:50052"])
    )
    assert spec.rpc == ("10.0.0.2:50052", "gpu:1")
    # the lab's start screen builds its spec with replace(): the servers stay
    assert spec.replace(ladder="toy", seed=3).rpc == spec.rpc
