"""Task TOML files, the built-in catalogue, and resolving CLI task specs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emergetui.tasks import registry
from emergetui.tasks.base import TaskError


def resolve(specs, shots=None, limit=None, seed=0, extra=(), **kw):
    return registry.resolve_tasks(list(specs), shots, limit, seed, list(extra), **kw)


def test_builtin_catalogue() -> None:
    infos = registry.list_tasks([])
    names = {t.name for t in infos}
    for op in ("add", "sub", "mul", "div"):
        for d in range(1, 6):
            assert f"arith-{d}digit-{op}" in names
    assert {"mmlu", "mmlu-hf", "arith-2digit-add-plain"} <= names
    assert all(t.builtin and not t.error for t in infos)
    assert {t.source for t in infos} == {"arithmetic", "mmlu"}
    mmlu = next(t for t in infos if t.name == "mmlu")
    assert "--mmlu-dir" in mmlu.description and mmlu.path.name == "mmlu.toml"


def test_every_builtin_arithmetic_task_resolves() -> None:
    names = [t.name for t in registry.list_tasks([]) if t.source == "arithmetic"]
    sets, errors = resolve(names, limit=2)
    assert not errors
    assert len(sets) == len(names) * 3  # shots 0, 1, 3
    assert all(len(s.items) == 2 for s in sets)


def test_shots_and_limit_override_the_file() -> None:
    sets, errors = resolve(["arith-3digit-mul"], shots=[0, 5], limit=4, seed=9)
    assert not errors and [s.setting for s in sets] == ["shots=0", "shots=5"]
    assert [len(s.items) for s in sets] == [4, 4]
    again, _ = resolve(["arith-3digit-mul"], shots=[0, 5], limit=4, seed=9)
    assert [i.prompt for s in sets for i in s.items] == [i.prompt for s in again for i in s.items]


def test_errors_do_not_stop_other_tasks(tmp_path: Path) -> None:
    sets, errors = resolve(["nope", "mmlu", "arith-1digit-add", "arith-1digt-add"], shots=[0])
    assert [s.task for s in sets] == ["arith-1digit-add"]
    text = [str(e) for e in errors]
    assert text[0].startswith("unknown task 'nope'")
    assert "--mmlu-dir" in text[1]
    assert "did you mean arith-1digit-add" in text[2]


def test_mmlu_with_dir(mmlu_dir: Path) -> None:
    sets, errors = resolve(["mmlu"], shots=[1], limit=1, mmlu_dir=mmlu_dir)
    assert not errors and [s.setting for s in sets] == ["shots=1,letter", "shots=1,full"]
    assert [len(s.items) for s in sets] == [2, 2]


def test_bigbench_specs_by_path_folder_and_name(bb: Path) -> None:
    sets, errors = resolve(
        [str(bb / "arithmetic" / "1_digit_addition" / "task.json")], shots=[0], limit=3
    )
    assert not errors and sets[0].task == "1_digit_addition" and len(sets[0].items) == 3
    sets, errors = resolve([str(bb / "arithmetic")], shots=[1])
    assert [s.task for s in sets] == [
        "arithmetic:1_digit_addition",
        "arithmetic:1_digit_multiplication",
    ]
    sets, errors = resolve(
        ["arithmetic:1_digit_multiplication", "figure_of_speech_detection"], shots=[0], extra=[bb]
    )
    assert not errors
    assert [s.task for s in sets] == [
        "arithmetic:1_digit_multiplication",
        "figure_of_speech_detection",
    ]
    sets, errors = resolve(["arithmetic:3_digit_addition"], extra=[bb])
    assert not sets and "no subtask '3_digit_addition'" in str(errors[0])
    infos = {t.name: t for t in registry.list_tasks([bb])}
    assert (
        infos["logical_deduction"].source == "bigbench" and not infos["logical_deduction"].builtin
    )


def write_toml(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / f"{name}.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_toml_bigbench_task_with_prompt_overrides(bb: Path, tmp_path: Path) -> None:
    shutil.copytree(bb / "arithmetic", tmp_path / "tasks" / "data" / "arith")
    p = write_toml(
        tmp_path / "tasks",
        "my-arith",
        """
name = "my-arith"
description = "BIG-bench arithmetic, no choices shown"
shots = [0, 2]
limit = 3
metrics = ["exact_match", "logprob_correct"]
shot_sampling = "bigbench"
max_tokens = 8

[source]
type = "bigbench"
path = "data/arith"

[prompt]
append_choices_to_input = false
example_input_prefix = "\\nQuestion: "
stop_string = "!"
""",
    )
    sets, errors = resolve([str(p)])
    assert not errors
    assert [(s.task, s.setting) for s in sets] == [
        ("my-arith:1_digit_addition", "shots=0"),
        ("my-arith:1_digit_addition", "shots=2"),
        ("my-arith:1_digit_multiplication", "shots=0"),
        ("my-arith:1_digit_multiplication", "shots=2"),
    ]
    item = sets[0].items[0]
    assert item.prompt == "\nQuestion: What is 0 plus 0?\nA: " and item.max_tokens == 8
    assert (
        sets[0].metrics == ("exact_match", "logprob_correct")
        and sets[0].preferred_metric == "exact_match"
    )
    assert sets[1].extra["shot_sampling"] == "bigbench"
    assert item.stop == ("!",) and item.output_regex == r"[-+]?\d+"  # the file's regex is kept
    by_name, errors = resolve(["my-arith"], extra=[tmp_path / "tasks"])
    assert not errors and len(by_name) == 4


def test_toml_relative_path_may_not_escape(tmp_path: Path, bb: Path) -> None:
    p = write_toml(
        tmp_path / "t", "evil", '[source]\ntype = "bigbench"\npath = "../../etc/passwd"\n'
    )
    _, errors = resolve([str(p)])
    assert "leaves the task file's folder" in str(errors[0])
    absolute = bb / "figure_of_speech_detection"
    q = write_toml(tmp_path / "t", "abs", f'[source]\ntype = "bigbench"\npath = "{absolute}"\n')
    sets, errors = resolve([str(q)], limit=1)
    assert not errors and sets[0].task == "abs"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "x"\n[source\ntype = "arithmetic"\n', r"invalid TOML: .*line 2"),
        ('name = "x"\n', r"missing \[source\] table"),
        ('[source]\ntype = "csv"\n', r"field 'source.type'"),
        ('metrics = ["accuracy"]\n[source]\ntype = "arithmetic"\n', "unknown metric 'accuracy'"),
        ('shots = [1, -1]\n[source]\ntype = "arithmetic"\n', "field 'shots'"),
        ('shots = "3"\n[source]\ntype = "arithmetic"\n', "field 'shots'"),
        ('limit = 0\n[source]\ntype = "arithmetic"\n', "field 'limit'"),
        ('name = "../x"\n[source]\ntype = "arithmetic"\n', "field 'name'"),
        ('shot_sampling = "random"\n[source]\ntype = "arithmetic"\n', "field 'shot_sampling'"),
        (
            '[source]\ntype = "arithmetic"\n[prompt]\ninput_prefix = "Q"\n',
            r"unknown field 'prompt.input_prefix'",
        ),
        ('[source]\ntype = "arithmetic"\n[prompt]\ntask_prefix = 3\n', "task_prefix"),
        ('[source]\ntype = "arithmetic"\ndigits = 9\n', r"\[source\]: arithmetic: digits must be"),
        ('[source]\ntype = "arithmetic"\ndigits = "2"\n', r"field 'digits'"),
        ('[source]\ntype = "bigbench"\n', "needs 'path' or 'hf_repo'"),
        ('shot = [1]\n[source]\ntype = "arithmetic"\n', "unknown field 'shot'"),
        ('[source]\ntype = "arithmetic"\ndigit = 3\n', "unknown field 'source.digit'"),
        (
            '[source]\ntype = "mmlu"\nsubjects = ["nope"]\npath = "."\n',
            "field 'subjects': unknown MMLU subject 'nope'",
        ),
        ('[source]\ntype = "mmlu"\nscoring = ["words"]\npath = "."\n', "field 'scoring'"),
    ],
)
def test_bad_toml_files(tmp_path: Path, text: str, message: str) -> None:
    p = write_toml(tmp_path, "bad", text)
    sets, errors = resolve([str(p)])
    assert not sets and len(errors) == 1
    assert str(p) in str(errors[0])
    assert re.search(message, str(errors[0]))


def test_broken_toml_is_listed_not_fatal(tmp_path: Path) -> None:
    write_toml(tmp_path, "broken", "name = \n")
    write_toml(tmp_path, "fine", '[source]\ntype = "arithmetic"\n')
    infos = {t.name: t for t in registry.list_tasks([tmp_path])}
    assert infos["broken"].error and infos["broken"].source == "invalid"
    assert infos["fine"].source == "arithmetic" and not infos["fine"].builtin
    sets, errors = resolve(["fine"], extra=[tmp_path], limit=2)
    assert not errors and len(sets[0].items) == 2


def test_extra_dir_overrides_builtin(tmp_path: Path) -> None:
    write_toml(
        tmp_path,
        "mine",
        'name = "arith-1digit-add"\nshots = [2]\n[source]\ntype = "arithmetic"\nop = "mul"\n',
    )
    sets, errors = resolve(["arith-1digit-add"], extra=[tmp_path], limit=1)
    assert not errors and [s.setting for s in sets] == ["shots=2"]
    assert "times" in sets[0].items[0].prompt


def test_task_name_wins_over_a_same_named_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "arith-1digit-add").mkdir()
    monkeypatch.chdir(tmp_path)
    sets, errors = resolve(["arith-1digit-add"], shots=[0], limit=1)
    assert not errors and sets[0].task == "arith-1digit-add"
    _, errors = resolve(["./arith-1digit-add"])
    assert "no task.json here" in str(errors[0])


def test_bad_cli_values() -> None:
    assert "--limit" in str(resolve(["arith-1digit-add"], limit=0)[1][0])
    assert "--shots" in str(resolve(["arith-1digit-add"], shots=[-1])[1][0])
    _, errors = resolve(["a\x00b"])
    assert len(errors) == 1 and isinstance(errors[0], TaskError)
    _, errors = resolve(["/nonexistent/task.json"])
    assert "no such file" in str(errors[0])


def test_non_utf8_toml(tmp_path: Path) -> None:
    p = tmp_path / "latin.toml"
    p.write_bytes(b'description = "caf\xe9"\n[source]\ntype = "arithmetic"\n')
    _, errors = resolve([str(p)])
    assert re.search(r"latin.toml:1: not UTF-8", str(errors[0]))


@settings(max_examples=40, deadline=None)
@given(text=st.text(max_size=80), head=st.booleans())
def test_arbitrary_toml_text_never_crashes(
    tmp_path_factory: pytest.TempPathFactory, text: str, head: bool
) -> None:
    p = tmp_path_factory.mktemp("fuzz") / "fuzz.toml"
    p.write_text(('[source]\ntype = "arithmetic"\n' if head else "") + text, encoding="utf-8")
    try:
        registry.load_task_toml(p)
    except TaskError:
        return
    sets, errors = resolve([str(p)], limit=1)
    assert sets or errors
