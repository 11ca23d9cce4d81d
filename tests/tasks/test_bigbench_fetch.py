"""BIG-bench by name without a checkout: fetched from a local stand-in of the repository's
raw file server, then used offline from the cache; corruption, resume and no network."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from bigbench_server import FIXTURES, ServerState, serve

from emergetui.tasks import bigbench_fetch, suites
from emergetui.tasks.registry import resolve_tasks


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No checkout configured, a private cache dir; returns the cache's benchmark_tasks."""
    monkeypatch.delenv(suites.ENV_VAR, raising=False)
    for var in (*bigbench_fetch.OFFLINE_ENVS, bigbench_fetch.REF_ENV):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return bigbench_fetch.FetchSettings.from_env().tasks_dir


def _closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


SPECS = ["bigbench:auto_debugging", "bigbench:logical_deduction/five_objects"]


def test_fetch_then_offline_from_the_cache(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = ServerState()
    with serve(state) as url:
        monkeypatch.setenv(bigbench_fetch.ENDPOINT_ENV, url)
        sets, errors = resolve_tasks(SPECS, None, 3, 0, [])
    assert not errors, errors
    assert [s.task for s in sets] == ["auto_debugging", "logical_deduction:five_objects"]
    assert all(len(s.items) == 3 for s in sets)
    # the repository's layout, fetched per task: the parent (absent here) and the subtask
    assert "/main/bigbench/benchmark_tasks/auto_debugging/task.json" in state.paths()
    assert "/main/bigbench/benchmark_tasks/logical_deduction/five_objects/task.json" in (
        state.paths()
    )
    cached = env / "logical_deduction" / "five_objects" / "task.json"
    assert (
        cached.read_bytes() == (FIXTURES / "logical_deduction/five_objects/task.json").read_bytes()
    )
    record = json.loads((env.parents[1] / bigbench_fetch.RECORD).read_text())
    assert (
        record["auto_debugging/task.json"]["size"]
        == (FIXTURES / "auto_debugging" / "task.json").stat().st_size
    )
    # offline: the server is gone and the same item sets come from the cache, same prompts
    again, errors = resolve_tasks(SPECS, None, 3, 0, [], offline=True)
    assert not errors
    assert [[i.prompt for i in s.items] for s in again] == [
        [i.prompt for i in s.items] for s in sets
    ]
    from emergetui.cli import main  # `emergetui tasks` lists what was downloaded

    assert main(["tasks"]) == 0
    listed = capsys.readouterr().out
    assert "BIG-bench tasks downloaded to" in listed and "bigbench:auto_debugging" in listed
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the Hub's offline switch is honoured too
    monkeypatch.setenv(bigbench_fetch.ENDPOINT_ENV, _closed_port_url())
    third, errors = resolve_tasks(SPECS, None, 3, 0, [])
    assert not errors and len(third) == 2


def test_a_corrupted_cached_file_is_detected_and_fetched_again(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = ServerState()
    with serve(state) as url:
        monkeypatch.setenv(bigbench_fetch.ENDPOINT_ENV, url)
        assert not resolve_tasks(SPECS[:1], None, 2, 0, [])[1]
        cached = env / "auto_debugging" / "task.json"
        data = bytearray(cached.read_bytes())
        data[200] ^= 0x01  # same size, one bit flipped
        cached.write_bytes(bytes(data))
        # offline: reported (and the bad copy removed), never used
        sets, errors = resolve_tasks(SPECS[:1], None, 2, 0, [], offline=True)
        assert not sets and "does not match the sha256 recorded" in str(errors[0])
        assert not cached.exists()
        cached.write_bytes(bytes(data))
        n = len(state.requests)
        sets, errors = resolve_tasks(SPECS[:1], None, 2, 0, [])
    assert not errors and len(sets) == 1
    assert len(state.requests) == n + 1  # fetched again
    assert cached.read_bytes() == (FIXTURES / "auto_debugging" / "task.json").read_bytes()


def test_an_interrupted_download_resumes_with_a_range_request(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = ServerState(cut_once={"emoji_movie/task.json": 1000})
    with serve(state) as url:
        monkeypatch.setenv(bigbench_fetch.ENDPOINT_ENV, url)
        sets, errors = resolve_tasks(["bigbench:emoji_movie"], None, 2, 0, [])
    assert not errors and [s.task for s in sets] == ["emoji_movie"]
    got = [r for p, r in state.requests if p.endswith("emoji_movie/task.json")]
    assert got == ["", "bytes=1000-"]
    assert (env / "emoji_movie" / "task.json").read_bytes() == (
        FIXTURES / "emoji_movie" / "task.json"
    ).read_bytes()


def test_no_network_is_one_line_naming_the_task_and_bigbench_dir(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(bigbench_fetch.ENDPOINT_ENV, _closed_port_url())
    sets, errors = resolve_tasks(["bigbench:auto_debugging"], None, 2, 0, [])
    assert not sets and len(errors) == 1
    text = str(errors[0])
    assert "\n" not in text and text.startswith("bigbench:auto_debugging: cannot download")
    assert "--bigbench-dir" in text
    # a whole suite stops at the first failure instead of trying every task
    sets, errors = resolve_tasks([], None, 2, 0, [], suite_names=["bigbench-lite"])
    assert not sets and len(errors) == 2 and "cannot download" in str(errors[0])
    assert str(errors[1]).startswith("23 more tasks not fetched, the network failed: ")
    # ... but what the cache has still runs after the network failed
    with serve(ServerState()) as url:
        monkeypatch.setenv(bigbench_fetch.ENDPOINT_ENV, url)
        assert not resolve_tasks(["bigbench:repeat_copy_logic"], None, 2, 0, [])[1]
    monkeypatch.setenv(bigbench_fetch.ENDPOINT_ENV, _closed_port_url())
    sets, errors = resolve_tasks([], None, 2, 0, [], suite_names=["bigbench-lite"])
    assert [s.task for s in sets] == ["repeat_copy_logic"]
    assert len(errors) == 2 and "22 more tasks not fetched" in str(errors[1])
    # offline and not cached: the same kind of line
    sets, errors = resolve_tasks(["bigbench:emoji_movie"], None, 2, 0, [], offline=True)
    assert "bigbench:emoji_movie" in str(errors[0]) and "--bigbench-dir" in str(errors[0])


def test_suite_fetches_what_the_server_has(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = ServerState()
    with serve(state) as url:
        monkeypatch.setenv(bigbench_fetch.ENDPOINT_ENV, url)
        sets, errors = resolve_tasks([], None, 2, 0, [], suite_names=["bigbench-lite"])
    here = {"auto_debugging", "conlang_translation", "emoji_movie", "logical_deduction"}
    here |= {"novel_concepts", "repeat_copy_logic"}
    assert {s.task.split(":")[0] for s in sets} == here
    assert len({s.task for s in sets if s.task.startswith("conlang_translation:")}) == 16
    # the fixtures lack the other 18 tasks and two of logical_deduction's subtasks
    missing = [str(e) for e in errors if "is not in BIG-bench" in str(e)]
    assert any("logical_deduction/three_objects/task.json" in m for m in missing)
    assert sum("bigbench:bbq_lite_json" in m for m in missing) >= 1
    # --bigbench-dir still wins: no request at all
    n = len(state.requests)
    sets, errors = resolve_tasks(SPECS[:1], None, 2, 0, [], bigbench_dir=FIXTURES)
    assert not errors and len(sets) == 1 and len(state.requests) == n


@pytest.mark.parametrize(
    "spec,message",
    [
        (
            "bigbench:auto_debuging",
            "no BIG-bench task 'auto_debuging'.*did you mean auto_debugging",
        ),
        ("bigbench:self_evaluation_tutoring", "programmatic BIG-bench task"),
        ("bigbench:../x", "want bigbench:NAME"),
    ],
)
def test_bad_names_fetched_are_one_clear_error(
    env: Path, monkeypatch: pytest.MonkeyPatch, spec: str, message: str
) -> None:
    import re

    with serve(ServerState()) as url:
        monkeypatch.setenv(bigbench_fetch.ENDPOINT_ENV, url)
        sets, errors = resolve_tasks([spec], None, 2, 0, [])
    assert not sets and len(errors) == 1 and re.search(message, str(errors[0]))


def test_batch_suite_without_a_checkout_then_offline(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    tiny_model: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`emergetui --batch --suite bigbench-lite` with no BIG-bench folder: fetched, run;
    then the same command with --offline and no server runs from the cache."""
    from emergetui.cli import main

    ladder = tmp_path / "ladder.toml"
    ladder.write_text(
        '[ladders.one]\ndescription = "one tiny model"\n'
        f'rungs = [{{ label = "small", params = 20000, path = "{tiny_model}" }}]\n'
    )
    argv = ["--batch", "--json", "--no-heldout", "--ladder", str(ladder), "--limit", "1"]
    argv += ["--suite", "bigbench-lite", "--task", "bigbench:emoji_movie"]
    with serve(ServerState()) as url:
        monkeypatch.setenv(bigbench_fetch.ENDPOINT_ENV, url)
        code = main([*argv, "--store", str(tmp_path / "a.sqlite")])
    out, err = capsys.readouterr()
    assert code == 0, err
    first = {r["task"] for r in json.loads(out)["results"]}
    assert {"emoji_movie", "auto_debugging", "conlang_translation:adna_to"} <= first
    monkeypatch.setenv(bigbench_fetch.ENDPOINT_ENV, _closed_port_url())
    code = main([*argv, "--offline", "--store", str(tmp_path / "b.sqlite")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert {r["task"] for r in json.loads(out)["results"]} == first
