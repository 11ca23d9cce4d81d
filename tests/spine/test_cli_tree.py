"""One parser tree: `emergetui --help` lists every registered subcommand, each one's own --help
works, and the lab's options stay the default command's."""

from __future__ import annotations

import subprocess
import sys

import pytest

from emergetui.cli import main
from emergetui.cli.parsers import main_parser
from emergetui.cli.subcommands import BY_NAME, SUBCOMMANDS


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 0
    return capsys.readouterr().out


def test_help_lists_every_registered_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    out = _help(["--help"], capsys)
    listed = out[out.index("commands:") :].split()
    for sub in SUBCOMMANDS:
        assert sub.name in listed, sub.name
    assert "--batch" in out and "Verdicts, per task" in out  # the lab's options and the rule


@pytest.mark.parametrize("name", [s.name for s in SUBCOMMANDS])
def test_each_subcommand_has_its_own_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = _help([name, "--help"], capsys)
    assert out.startswith(f"usage: emergetui {name} ")
    # the runner named in the registry exists (it is imported only when the subcommand runs)
    assert callable(BY_NAME[name].handler())


def test_the_names_live_in_one_place() -> None:
    assert len(BY_NAME) == len(SUBCOMMANDS)
    sp = next(a for a in main_parser()._actions if a.dest == "cmd")
    assert list(sp.choices) == [s.name for s in SUBCOMMANDS]  # type: ignore[union-attr]


def test_without_a_command_the_options_are_the_labs() -> None:
    args = main_parser().parse_args(["--batch", "--ladder", "runs", "--shots", "0,1"])
    assert args.cmd is None and args.batch and args.ladder == ["runs"] and args.shots == "0,1"
    args = main_parser().parse_args(["ladders", "--ladder", "x.toml"])
    assert args.cmd == "ladders" and [str(p) for p in args.ladder] == ["x.toml"]


def test_lab_options_before_a_command_are_one_clear_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--batch", "runs"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("emergetui: ") and "`emergetui runs [options]`" in err


def test_an_unknown_command_names_the_known_ones() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "emergetui.cli", "frobnicate"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "frobnicate" in proc.stderr and all(s.name in proc.stderr for s in SUBCOMMANDS)


def test_help_imports_no_runner_of_a_subcommand() -> None:
    """The registry names runners as strings: building the tree imports none of them (no
    analysis, no reports, no llama.cpp), so `emergetui --help` and the lab's start stay fast."""
    code = (
        "import sys\n"
        "from emergetui.cli.parsers import main_parser\n"
        "main_parser().format_help()\n"
        "bad = [m for m in sys.modules if m.startswith(('llama_cpp', 'emergetui.engine',"
        " 'emergetui.cli.commands', 'emergetui.analysis', 'emergetui.report'))]\n"
        "print(bad); raise SystemExit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
