"""BIG-bench JSON loading: prompts checked character by character on real task files."""

from __future__ import annotations

import copy
import json
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emergetui.tasks import bigbench
from emergetui.tasks.base import TaskError
from emergetui.tasks.fewshot import ShotOrder
from emergetui.tasks.metrics import BIGBENCH_DEFAULT_REGEX


def load_one(path: Path) -> bigbench.BigBenchTask:
    tasks, errors = bigbench.load_bigbench(path)
    assert not errors and len(tasks) == 1
    return tasks[0]


def sets_for(task, shots, seed=42, **kw):
    sets, errors = bigbench.item_sets(task, shots, seed, **kw)
    assert not errors
    return sets


# --------------------------------------------------------------------------- exact prompts


def test_figure_of_speech_zero_shot_prompt(bb: Path) -> None:
    task = load_one(bb / "figure_of_speech_detection")
    item = sets_for(task, [0])[0].items[0]
    assert item.prompt == (
        "Please identify the figure of speech embodied by the following English sentences."
        "\nSentence: They fought like cats and dogs.\nFigure of speech: "
    )
    assert item.choices == (
        "Simile",
        "Metaphor",
        "Personification",
        "Apostrophe",
        "Oxymoron",
        "Hyperbole",
        "Pun",
        "Euphemism",
        "Alliteration",
        "Onomatopoeia",
    )
    assert item.target_scores == (1.0,) + (0.0,) * 9
    assert item.targets == () and not item.generate
    assert item.output_regex == BIGBENCH_DEFAULT_REGEX


def test_logical_deduction_prompt_has_no_choices_appended(bb: Path) -> None:
    task = load_one(bb / "logical_deduction" / "five_objects")
    item = sets_for(task, [0])[0].items[0]
    assert item.prompt == (
        "The following paragraphs each describe a set of five objects arranged in a fixed order. "
        "The statements are logically consistent within each paragraph.\n\n"
        "On a shelf, there are five books: a gray book, a red book, a purple book, a blue book, "
        "and a black book. The red book is to the right of the gray book. The black book is to the "
        "left of the blue book. The blue book is to the left of the gray book. The purple book is "
        "the second from the right. "
    )
    assert item.choices[4] == "The black book is the leftmost."
    assert item.target_scores[4] == 1.0 and sum(item.target_scores) == 1.0


def test_arithmetic_choices_appended_in_bigbench_permutation(bb: Path) -> None:
    task = load_one(bb / "arithmetic" / "1_digit_addition")
    item = sets_for(task, [0])[0].items[0]
    # default_format_fn with RandomState(42):
    # permutation of sorted(["2","1","859","banana","house","0"])
    assert item.prompt == (
        "\nQ: What is 0 plus 0?\n  choice: 0\n  choice: 1\n  choice: house\n  choice: 2"
        "\n  choice: banana\n  choice: 859\nA: "
    )
    assert item.choices == (
        "2",
        "1",
        "859",
        "banana",
        "house",
        "0",
    )  # file order, scored as continuations
    assert item.targets == ("0",) and item.generate
    assert item.output_regex == r"[-+]?\d+" and item.stop == ("\n",)


def test_modified_arithmetic_fixed_shots_layout(bb: Path) -> None:
    task = load_one(bb / "modified_arithmetic" / "two_digit_multiplication_plus_one")
    ex = task.examples
    items = sets_for(task, [2])[0].items
    order = ShotOrder.seeded(len(ex), 42, task.name).order
    j1, j2 = order[0], order[1]
    assert 0 not in (j1, j2)
    expected = (
        ex[j1].input
        + " "
        + ex[j1].target[0]
        + "\n\n"
        + ex[j2].input
        + " "
        + ex[j2].target[0]
        + "\n\n"
        + ex[0].input
        + " "
    )
    assert items[0].prompt == expected
    assert items[0].prompt.endswith("74 * 74 -> 5477\n87 * 23 -> ")
    assert items[0].targets == ("2002",) and items[0].shots == 2
    # every item but the (at most 2) shots themselves shares the whole 2-shot context
    context = expected[: -len(ex[0].input + " ")]
    sharing = [it for it in items if it.prompt.startswith(context)]
    assert len(sharing) >= len(items) - 2
    for it in items:  # the test example never appears among its own shots
        query = ex[int(it.item_id)].input + " "
        assert it.prompt.endswith(query)
        assert query + ex[int(it.item_id)].target[0] not in it.prompt


def test_shot_counts_are_nested_and_limit_keeps_first_items(bb: Path) -> None:
    task = load_one(bb / "figure_of_speech_detection")
    s1, s3 = sets_for(task, [1, 3], limit=5)
    assert [it.item_id for it in s1.items] == ["0", "1", "2", "3", "4"]
    assert s1.setting == "shots=1" and s3.setting == "shots=3" and s3.shots == 3
    prefix = task.fmt.task_prefix
    shot1 = s1.items[0].prompt[len(prefix) :].split("\n\n")[0]
    assert s3.items[0].prompt[len(prefix) :].startswith(shot1)


# --------------------------------------------------------------------------- BIG-bench's own draws


def reference_prompts(task_json: dict, shots: int, seed: int) -> list[str]:
    """BIG-bench's default_format_fn + make_nshot_dataset, transcribed with dict samples."""
    seen, samples = set(), []
    for ex in task_json["examples"]:
        if json.dumps(ex) not in seen:
            seen.add(json.dumps(ex))
            samples.append(copy.deepcopy(ex))
    ip = task_json.get("example_input_prefix", "\nQ: ")
    op = task_json.get("example_output_prefix", "\nA: ")
    cp = task_json.get("choice_prefix", "\n  choice: ")
    sep = task_json.get("few_shot_example_separator", "\n")
    rng = np.random.RandomState(seed)
    for s in samples:
        if "target_scores" in s:
            if task_json.get("append_choices_to_input", True):
                s["input"] += cp + cp.join(rng.permutation(sorted(s["target_scores"])))
            if "target" not in s:
                best = max(s["target_scores"].values())
                s["target"] = [k for k, v in s["target_scores"].items() if v == best][0]
            s["choice"] = list(s["target_scores"])
        s["input"] = ip + s["input"] + op
        if not isinstance(s["target"], list):
            s["target"] = [s["target"]]
    prefix = task_json.get("task_prefix", "")
    if shots == 0:
        return [prefix + s["input"] for s in samples]
    rng = np.random.RandomState(seed)
    out = []
    for s in samples:
        valid = [x for x in samples if x != s]
        shot_examples = list(rng.choice(valid, shots, replace=False))
        context = sep.join(x["input"] + rng.choice(x["target"]) for x in shot_examples)
        out.append(prefix + context + sep + s["input"])
    return out


@pytest.mark.parametrize(
    ("rel", "shots", "seed"),
    [
        ("arithmetic/1_digit_addition", 0, 42),
        ("arithmetic/1_digit_addition", 2, 42),
        ("arithmetic/1_digit_multiplication", 1, 7),
        ("figure_of_speech_detection", 3, 42),
        ("logical_deduction/five_objects", 1, 3),
    ],
)
def test_bigbench_sampling_replays_make_nshot_dataset(
    bb: Path, rel: str, shots: int, seed: int
) -> None:
    path = bb / rel / "task.json"
    expected = reference_prompts(json.loads(path.read_text(encoding="utf-8")), shots, seed)
    task = load_one(path)
    items = sets_for(task, [shots], seed, shot_sampling="bigbench")[0].items
    assert [it.prompt for it in items] == expected
    first = sets_for(task, [shots], seed, shot_sampling="bigbench", limit=4)[0].items
    assert [it.prompt for it in first] == expected[:4]


# --------------------------------------------------------------------------- folders, metrics, HF


def test_subtask_folder_names_and_parent(bb: Path, tmp_path: Path) -> None:
    tasks, errors = bigbench.load_bigbench(bb / "arithmetic")
    assert not errors
    assert [t.name for t in tasks] == [
        "arithmetic:1_digit_addition",
        "arithmetic:1_digit_multiplication",
    ]
    root = tmp_path / "parent"
    shutil.copytree(bb / "arithmetic", root)
    (root / "task.json").write_text(
        json.dumps({"name": "arith", "description": "parent", "metrics": ["bleu"]})
    )
    (root / "broken").mkdir()
    (root / "broken" / "task.json").write_text('{\n  "examples": [,]\n}')
    tasks, errors = bigbench.load_bigbench(root / "task.json")
    assert [t.name for t in tasks] == ["arith:1_digit_addition", "arith:1_digit_multiplication"]
    assert len(errors) == 1 and "broken/task.json:2:" in str(errors[0])


def test_metrics_mapping_and_not_computed(tmp_path: Path) -> None:
    data = {
        "name": "t",
        "metrics": ["bleu", "exact_str_match", "rouge"],
        "preferred_score": "bleu",
        "stop_string": ".",
        "examples": [{"input": "a", "target": ["x.", "y."]}, {"input": "b", "target": "z."}],
    }
    (tmp_path / "task.json").write_text(json.dumps(data))
    task = load_one(tmp_path / "task.json")
    s = sets_for(task, [0, 1])[1]
    assert s.not_computed == ()
    assert s.metrics[:5] == ("bleu", "exact_match", "rouge1", "rouge2", "rougeLsum")
    assert s.preferred_metric == "bleu"  # BIG-bench's preferred_score is the headline
    assert s.extra["bigbench_low_score"] == "0.0" and s.extra["bigbench_high_score"] == "100.0"
    item = s.items[0]
    assert item.output_regex is None and item.stop == (".",)
    assert ("stop_string", ".") in item.meta
    assert item.prompt == "\nQ: b\nA: z.\n\nQ: a\nA: "


def test_too_many_shots_fails_only_that_setting(tmp_path: Path) -> None:
    data = {
        "examples": [
            {"input": "a", "target": "1"},
            {"input": "b", "target": "2"},
            {"input": "a", "target": "1"},
        ]
    }
    (tmp_path / "task.json").write_text(json.dumps(data))
    task = load_one(tmp_path / "task.json")
    assert task.duplicates_removed == 1
    for mode in bigbench.SHOT_SAMPLING:
        sets, errors = bigbench.item_sets(task, [0, 1, 2], 0, shot_sampling=mode)
        assert [s.shots for s in sets] == [0, 1]
        assert len(errors) == 1 and "2 shots" in str(errors[0])


def fake_hub(monkeypatch: pytest.MonkeyPatch, files: dict[str, Path]) -> list[str]:
    calls: list[str] = []

    def hf_hub_download(repo_id, filename, repo_type=None, revision=None):
        assert repo_type == "dataset"
        calls.append(filename)
        if filename not in files:
            raise FileNotFoundError(filename)
        return str(files[filename])

    def list_repo_files(repo_id, repo_type=None, revision=None):
        return list(files)

    module = types.SimpleNamespace(hf_hub_download=hf_hub_download, list_repo_files=list_repo_files)
    monkeypatch.setitem(sys.modules, "huggingface_hub", module)
    return calls


def test_load_from_hub_single_and_subtasks(
    bb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = tmp_path / "parent.json"
    parent.write_text(json.dumps({"name": "arithmetic", "description": "d"}))
    files = {
        "arithmetic/task.json": parent,
        "arithmetic/1_digit_addition/task.json": bb / "arithmetic/1_digit_addition/task.json",
        "arithmetic/1_digit_multiplication/task.json": bb
        / "arithmetic/1_digit_multiplication/task.json",
        "figure/task.json": bb / "figure_of_speech_detection/task.json",
    }
    calls = fake_hub(monkeypatch, files)
    tasks, errors = bigbench.load_bigbench_hf("org/bb", "figure/task.json")
    assert [t.name for t in tasks] == ["figure_of_speech_detection"] and not errors
    assert tasks[0].source == "hf://org/bb/figure/task.json"
    tasks, errors = bigbench.load_bigbench_hf("org/bb", "arithmetic/task.json")
    assert [t.name for t in tasks] == [
        "arithmetic:1_digit_addition",
        "arithmetic:1_digit_multiplication",
    ]
    assert "arithmetic/1_digit_addition/task.json" in calls
    with pytest.raises(TaskError, match="download failed"):
        bigbench.load_bigbench_hf("org/bb", "missing/task.json")
    with pytest.raises(TaskError, match="invalid file name"):
        bigbench.load_bigbench_hf("org/bb", "../etc/task.json")


# --------------------------------------------------------------------------- bad input


def write(tmp_path: Path, content: str | bytes) -> Path:
    p = tmp_path / "task.json"
    p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return p


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{\n  "examples": [\n    {"input": "a" "target": "b"}\n  ]\n}',
            r"task.json:3:\d+: invalid JSON",
        ),
        ('{"examples": []}', "no examples"),
        ('{"name": "x"}', "no examples"),
        ("[1, 2]", "top level must be a JSON object"),
        (
            '{"examples": [{"input": "a", "target_scores": {"x": 0, "y": 0}}]}',
            r"examples\[0\].*no choice with a positive",
        ),
        (
            '{"examples": [{"input": "a", "target_scores": {"x": "1"}}]}',
            r"examples\[0\].*not a number",
        ),
        ('{"examples": [{"input": "a", "target_scores": {}}]}', "non-empty object"),
        ('{"examples": [{"target": "b"}]}', r"examples\[0\]: field 'input'"),
        ('{"examples": [{"input": "a"}, {"input": "b"}]}', r"examples\[0\]: needs 'target'"),
        ('{"examples": [{"input": "a", "target": []}]}', "field 'target'"),
        ('{"examples": [{"input": "a", "target": [1]}]}', "field 'target'"),
        ('{"examples": ["a"]}', r"examples\[0\]: must be an object"),
        ('{"output_regex": "([", "examples": [{"input": "a", "target": "b"}]}', "output_regex"),
        ('{"output_regex": "(a)(b)", "examples": [{"input": "a", "target": "b"}]}', "groups"),
        ('{"task_prefix": 3, "examples": [{"input": "a", "target": "b"}]}', "task_prefix"),
        (
            '{"append_choices_to_input": "no", "examples": [{"input": "a", "target": "b"}]}',
            "append_choices_to_input",
        ),
        ('{"metrics": "bleu", "examples": [{"input": "a", "target": "b"}]}', "metrics"),
        (b'{"examples": [{"input": "caf\xe9", "target": "b"}]}', r"task.json:1: not UTF-8"),
    ],
)
def test_bad_task_files_raise_task_error(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(TaskError, match=message):
        bigbench.load_bigbench(path)


def test_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="no such file"):
        bigbench.load_bigbench(tmp_path / "nope")
    with pytest.raises(TaskError, match="no task.json here"):
        bigbench.load_bigbench(tmp_path)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["input", "target", "target_scores", "examples", "metrics", "x"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=50, deadline=None)
@given(data=json_values)
def test_arbitrary_json_never_crashes(data: object) -> None:
    try:
        task = bigbench.parse_task(data, "fuzz.json", "fuzz")
    except TaskError:
        return
    bigbench.item_sets(task, [0, 1], 0)


def test_bleurt_is_not_computed_with_its_reason(tmp_path: Path) -> None:
    data = {
        "name": "t",
        "metrics": ["bleurt", "exact_str_match"],
        "preferred_score": "bleurt",
        "examples": [{"input": "a", "target": "x"}, {"input": "b", "target": "y"}],
    }
    (tmp_path / "task.json").write_text(json.dumps(data))
    s = sets_for(load_one(tmp_path / "task.json"), [0])[0]
    assert s.not_computed == ("bleurt",)
    assert "model download" in s.extra["not_computed:bleurt"]
    assert s.preferred_metric == "exact_match"  # the headline falls back to a computed metric
    from emergetui.report.document import not_computed_reasons

    assert "BLEURT-20" in not_computed_reasons(["bleurt"])["bleurt"]


def test_scoring_only_task_does_not_generate(tmp_path: Path) -> None:
    data = {
        "name": "t",
        "metrics": ["log_likelihood"],
        "preferred_score": "log_likelihood",
        "examples": [{"input": "a", "target": ["x", "x y"]}, {"input": "b", "target": "y"}],
    }
    (tmp_path / "task.json").write_text(json.dumps(data))
    s = sets_for(load_one(tmp_path / "task.json"), [0])[0]
    assert not any(it.generate for it in s.items)  # json_task generates only for generative metrics
    assert s.metrics[0] == "log_likelihood" and s.preferred_metric == "log_likelihood"
    assert "log_likelihood_per_word" not in s.metrics  # one example has two targets
    assert ("bigbench_multi_target", "1") in s.items[0].meta
