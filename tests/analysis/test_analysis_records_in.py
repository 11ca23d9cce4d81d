"""`emergetui analyze FILE.jsonl`: a real run exported and judged again, and bad lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emergetui.analysis.records_in import RECORDS_VERSION
from emergetui.cli import main
from emergetui.errors import CliError
from tests.conftest import write_tiny


@pytest.fixture()
def three_rungs(tmp_path: Path, tiny_model: Path, tiny_model_b: Path) -> Path:
    third = write_tiny(tmp_path / "tiny-c.gguf", seed=2)
    p = tmp_path / "ladder.toml"
    p.write_text(
        "[ladders.tiny3]\n"
        'description = "three tiny random models"\n'
        "rungs = [\n"
        f'  {{ label = "s", params = 20000, path = "{tiny_model}" }},\n'
        f'  {{ label = "m", params = 90000, path = "{tiny_model_b}" }},\n'
        f'  {{ label = "l", params = 400000, path = "{third}" }},\n'
        "]\n"
    )
    return p


def test_export_then_analyze_gives_the_run_document(
    tmp_path: Path, three_rungs: Path, capsys
) -> None:
    store = tmp_path / "s.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "emergetui.cli",
        "--batch",
        "--ladder",
        str(three_rungs),
        "--task",
        "arith-1digit-add",
        "--limit",
        "8",
        "--store",
        str(store),
        "--json",
        "--no-heldout",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    items = tmp_path / "items.jsonl"
    assert main(["export", run["run_id"], "--store", str(store), "--out", str(items)]) == 0
    first = json.loads(items.read_text().splitlines()[0])
    assert first["params"] in (20000, 90000, 400000) and "chance" in first
    assert first["version"] == RECORDS_VERSION
    capsys.readouterr()
    assert main(["analyze", str(items), "--json", "--out", str(tmp_path / "rep")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["results"] == run["results"]
    assert doc["emergence"] == run["emergence"]
    assert doc["calibration"] == run["calibration"]
    assert [r["params"] for r in doc["rungs"]] == [20000, 90000, 400000]
    assert (tmp_path / "rep" / "report.md").exists()


#: A line without its closing brace; PARAMS becomes 10 unless a case replaces it.
HEAD = '{"rung": "a", "params": PARAMS, "task": "t", "setting": "s", "item_id": "1", "metrics": {}'


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("not json", ":2: not JSON"),
        (
            '{"rung": "a", "task": "t", "setting": "s", "item_id": "1", "metrics": {}}',
            "field 'params' is missing",
        ),
        (
            HEAD.replace("PARAMS", "-3") + "}",
            "field 'params': expected a positive number",
        ),
        (
            HEAD.replace("{}", '{"em": "x"}') + "}",
            "field 'metrics.em': expected a number",
        ),
        (
            HEAD.replace("PARAMS", "11") + "}",
            "field 'params': rung 'a' has 11 here but 10 on line 1",
        ),
        (
            HEAD + ', "chance": 3}',
            "field 'chance'",
        ),
        (
            HEAD + f', "version": {RECORDS_VERSION + 1}}}',
            f"field 'version': records version {RECORDS_VERSION + 1} is not one",
        ),
        (HEAD + ', "version": "1"}', "field 'version': records version '1'"),
    ],
)
def test_bad_line_names_line_and_field(tmp_path: Path, line: str, needle: str, capsys) -> None:
    good = HEAD.replace("{}", '{"em": 1}').replace('"1"', '"0"').replace("PARAMS", "10") + "}"
    line = line.replace("PARAMS", "10")
    path = tmp_path / "bad.jsonl"
    path.write_text(good + "\n" + line + "\n")
    assert main(["analyze", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2" in err and needle in err
    assert len(err.strip().splitlines()) == 1


def test_analyze_prints_the_table_and_the_verdicts(tmp_path: Path, capsys) -> None:
    path = tmp_path / "ok.jsonl"
    rows = []
    for _i, (label, params, p) in enumerate(
        [
            ("a", 10**7, 0.0),
            ("b", 10**8, 0.0),
            ("c", 10**9, 0.0),
            ("d", 10**10, 0.9),
            ("e", 10**11, 0.9),
        ]
    ):
        for j in range(100):
            rows.append(
                {
                    "rung": label,
                    "params": params,
                    "task": "t",
                    "setting": "s",
                    "item_id": j,
                    "metrics": {"exact_match": float(j < p * 100)},
                    "chance": {"exact_match": 0.0},
                }
            )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["analyze", str(path)]) == 0
    out = capsys.readouterr().out
    assert "EMERGENT" in out and "evidence: jump c->d" in out


def test_records_without_a_version_are_read_as_version_1(tmp_path: Path) -> None:
    """Exports written before the field existed have the version-1 layout."""
    from emergetui.analysis.records_in import read_records
    from emergetui.errors import EmergetuiError, RecordsError

    path = tmp_path / "old.jsonl"
    line = HEAD.replace("PARAMS", "10").replace("{}", '{"em": 1}') + "}"
    versioned = line[:-1] + f', "version": {RECORDS_VERSION}}}'
    path.write_text(line + "\n" + versioned.replace('"1"', '"2"') + "\n")
    got = read_records(path)
    assert [r.item_id for r in got.records] == ["1", "2"]
    assert issubclass(RecordsError, EmergetuiError) and not issubclass(RecordsError, CliError)
