"""BIG-bench by name: finding the checkout, bigbench:NAME[/SUBTASK], suites, the listing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from emergetui.tasks import suites
from emergetui.tasks.base import TaskError
from emergetui.tasks.registry import resolve_tasks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bigbench"


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """A fake checkout: bigbench/benchmark_tasks with real task files and a programmatic task."""
    root = tmp_path / "BIG-bench" / "bigbench" / "benchmark_tasks"
    root.mkdir(parents=True)
    for name in ("auto_debugging", "logical_deduction", "emoji_movie", "arithmetic"):
        shutil.copytree(FIXTURES / name, root / name)
    (root / "self_evaluation_tutoring").mkdir()
    (root / "self_evaluation_tutoring" / "task.py").write_text("# programmatic task stand-in\n")
    return root


@pytest.fixture()
def no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv(suites.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "emergetui" / "config.toml"


def test_dir_from_flag_env_or_user_config(
    tree: Path, no_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert suites.find_bigbench_dir(None) is None
    checkout = tree.parents[1]
    assert suites.find_bigbench_dir(checkout) == tree  # a checkout root is accepted
    assert suites.find_bigbench_dir(tree) == tree
    no_env.parent.mkdir(parents=True)
    no_env.write_text(f'[bigbench]\ndir = "{checkout}"\n')
    assert suites.find_bigbench_dir(None) == tree
    monkeypatch.setenv(suites.ENV_VAR, str(tree / "auto_debugging"))
    assert suites.find_bigbench_dir(None) == tree / "auto_debugging"  # env beats the config
    assert suites.find_bigbench_dir(tree) == tree  # the flag beats both
    monkeypatch.setenv(suites.ENV_VAR, str(tree / "nope"))
    with pytest.raises(TaskError, match=f"{suites.ENV_VAR}: .*nope is not a folder"):
        suites.find_bigbench_dir(None)


def test_bad_user_config_names_the_file_and_field(no_env: Path) -> None:
    no_env.parent.mkdir(parents=True)
    no_env.write_text("[bigbench]\ndir = 3\n")
    with pytest.raises(TaskError, match=r"config.toml: field 'bigbench.dir'"):
        suites.find_bigbench_dir(None)


def test_task_by_name_and_subtask(tree: Path, no_env: Path) -> None:
    sets, errors = resolve_tasks(["bigbench:auto_debugging"], None, 3, 0, [], bigbench_dir=tree)
    assert not errors and [s.task for s in sets] == ["auto_debugging"] and len(sets[0].items) == 3
    sets, errors = resolve_tasks(
        ["bigbench:arithmetic/1_digit_addition"], None, 2, 0, [], bigbench_dir=tree
    )
    assert not errors and [s.task for s in sets] == ["arithmetic:1_digit_addition"]


@pytest.mark.parametrize(
    "spec,message",
    [
        (
            "bigbench:auto_debuging",
            "no BIG-bench task 'auto_debuging'.*did you mean auto_debugging",
        ),
        ("bigbench:self_evaluation_tutoring", "programmatic BIG-bench task"),
        ("bigbench:arithmetic/9_digit", "has no subtask '9_digit'"),
        ("bigbench:", "want bigbench:NAME"),
    ],
)
def test_bad_names_are_one_clear_error(tree: Path, no_env: Path, spec: str, message: str) -> None:
    sets, errors = resolve_tasks([spec], None, 2, 0, [], bigbench_dir=tree)
    assert not sets and len(errors) == 1
    assert isinstance(errors[0], TaskError) and re.search(message, str(errors[0]))


def test_bigbench_name_without_a_dir_or_network_says_how_to_set_one(
    no_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without a checkout the task is fetched (tests/tasks/test_bigbench_fetch.py); with
    nothing to fetch from, the one line names the task and --bigbench-dir."""
    from emergetui.tasks import bigbench_fetch

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(bigbench_fetch.ENDPOINT_ENV, "http://127.0.0.1:9")
    sets, errors = resolve_tasks(["bigbench:auto_debugging"], None, 2, 0, [])
    assert not sets and "--bigbench-dir" in str(errors[0])
    assert str(errors[0]).startswith("bigbench:auto_debugging: ")


def test_suite_runs_what_exists_and_warns_once(tree: Path, no_env: Path) -> None:
    sets, errors = resolve_tasks(
        [], None, 2, 0, [], bigbench_dir=tree, suite_names=["bigbench-lite"]
    )
    assert {s.task.split(":")[0] for s in sets} == {
        "auto_debugging",
        "logical_deduction",
        "emoji_movie",
    }
    assert len(errors) == 1 and "21 not found" in str(errors[0])
    assert "running the other 3 of 24" in str(errors[0])
    _, errors = resolve_tasks(
        [], None, 2, 0, [], bigbench_dir=tree, suite_names=["wei2022-emergent"]
    )
    assert len(errors) == 1 and "1 programmatic (unsupported): self_evaluation_tutoring" in str(
        errors[0]
    )
    sets, errors = resolve_tasks([], None, 2, 0, [], bigbench_dir=tree, suite_names=["lite"])
    assert not sets and "unknown suite 'lite'" in str(errors[0])


BB_1_0_0 = dict(
    line.split()
    for line in (Path(__file__).parent / "bigbench_1_0_0_tasks.txt").read_text().splitlines()
    if line and not line.startswith("#")
)


def test_suite_lists_are_the_published_ones() -> None:
    assert len(suites.BIGBENCH_LITE) == 24 == len(set(suites.BIGBENCH_LITE))
    assert len(set(suites.WEI2022_EMERGENT)) == len(suites.WEI2022_EMERGENT) == 67
    assert {
        "modified_arithmetic",
        "word_unscrambling",
        "parsinlu_qa",
        "international_phonetic_alphabet_transliterate",
    } <= set(suites.WEI2022_EMERGENT)
    # the blog's group sizes: GPT-3 13B 2, 175B 15, LaMDA 8 (the paper's 25), PaLM 3+14+25 (42)
    wei = suites.WEI2022_EMERGENT
    assert wei.index("auto_debugging") == 25 and wei[:2] == (
        "hindu_knowledge",
        "modified_arithmetic",
    )
    assert wei.index("analogical_similarity") == 25 + 3 + 14


def test_suite_names_are_bigbench_1_0_0_tasks() -> None:
    """Every suite name is a task folder of bigbench 1.0.0; Lite is all JSON."""
    assert len(BB_1_0_0) == 209
    for name in suites.BIGBENCH_LITE:
        assert BB_1_0_0.get(name) == "json", name
    kinds = {name: BB_1_0_0.get(name) for name in suites.WEI2022_EMERGENT}
    assert None not in kinds.values(), [n for n, k in kinds.items() if k is None]
    assert {n for n, k in kinds.items() if k == "programmatic"} == {
        "question_answer_creation",
        "self_evaluation_tutoring",
    }


def test_listing_shows_metrics_counts_and_programmatic(tree: Path) -> None:
    lines = suites.listing_lines(tree)
    by_name = {line.split()[0]: line for line in lines}
    assert "34 examples" in by_name["bigbench:auto_debugging"]
    assert "metrics: exact_str_match" in by_name["bigbench:auto_debugging"]
    assert "1 subtasks" in by_name["bigbench:logical_deduction"]
    assert "rouge, bleu" in by_name["bigbench:emoji_movie"]
    assert "unsupported" in by_name["bigbench:self_evaluation_tutoring"]
