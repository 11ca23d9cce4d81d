"""MMLU loader on tiny self-written CSVs in the original layout."""

from __future__ import annotations

import math
import sys
import types
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tasks_testdata import MMLU_ROWS, write_mmlu

from emergetui.tasks import mmlu
from emergetui.tasks.base import TaskError


def test_subject_list() -> None:
    assert len(mmlu.SUBJECTS) == 57 == len(set(mmlu.SUBJECTS))
    assert mmlu.header("high_school_us_history") == (
        "The following are multiple choice questions (with answers) "
        "about high school us history.\n\n"
    )


def test_two_shot_letter_prompt_exact(mmlu_dir: Path) -> None:
    data = mmlu.load_local(mmlu_dir)
    assert sorted(data["test"]) == ["abstract_algebra", "astronomy"]
    sets, errors = mmlu.item_sets(data, [2], ["letter", "full"])
    assert not errors
    letter, full = sets
    assert letter.setting == "shots=2,letter" and full.setting == "shots=2,full"
    item = letter.items[1]
    assert item.item_id == "abstract_algebra/1"
    assert item.prompt == (
        "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
        "Which number is the additive identity?\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer: A\n\n"
        "How many elements has the group Z_3?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: C\n\n"
        'Pick, the "odd" one\nA. a,b\nB. c\nC. d\ne\nD. f\nAnswer:'
    )
    assert item.choices == (" A", " B", " C", " D")
    assert item.target_scores == (0.0, 0.0, 0.0, 1.0)
    assert mmlu.subject_of(item) == "abstract_algebra" and dict(item.meta)["answer"] == "D"
    assert full.items[1].choices == (" a,b", " c", " d\ne", " f")
    assert full.items[1].prompt == item.prompt
    assert not item.generate and item.shots == 2
    assert letter.preferred_metric == "multiple_choice_grade"
    astro = [it for it in letter.items if mmlu.subject_of(it) == "astronomy"]
    assert astro[0].prompt.startswith(
        "The following are multiple choice questions (with answers) about astronomy.\n\n"
        "What orbits a planet?\nA. A moon\n"
    )


def test_zero_shot_and_prefix_sharing(mmlu_dir: Path) -> None:
    data = mmlu.load_local(mmlu_dir)
    (zero,), _ = mmlu.item_sets(data, [0], ["letter"])
    assert zero.items[0].prompt == (
        "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
        "What is the order of 2 in Z_4?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer:"
    )
    (two,), _ = mmlu.item_sets(data, [2], ["letter"])
    algebra = [it.prompt for it in two.items if mmlu.subject_of(it) == "abstract_algebra"]
    shared = algebra[0][: algebra[0].index("What is the order")]
    assert all(p.startswith(shared) for p in algebra)


def test_limit_is_per_subject_and_too_many_shots(mmlu_dir: Path) -> None:
    data = mmlu.load_local(mmlu_dir, ["astronomy", "abstract_algebra"])
    (s,), _ = mmlu.item_sets(data, [0], ["full"], limit=1)
    assert [it.item_id for it in s.items] == ["astronomy/0", "abstract_algebra/0"]
    sets, errors = mmlu.item_sets(data, [1, 3], ["letter"])
    assert [x.shots for x in sets] == [1]  # astronomy has only 2 dev questions
    assert len(errors) == 1 and "astronomy" in str(errors[0])


def test_aggregation() -> None:
    pairs = [("a", 1.0), ("a", 0.0), ("a", 0.0), ("a", 1.0), ("b", 1.0), ("b", math.nan)]
    assert mmlu.subject_scores(pairs) == {"a": 0.5, "b": 1.0}
    macro, micro = mmlu.macro_micro(pairs)
    assert macro == pytest.approx(0.75) and micro == pytest.approx(0.6)
    assert all(math.isnan(x) for x in mmlu.macro_micro([]))


def test_accepts_parent_data_folder(tmp_path: Path) -> None:
    write_mmlu(tmp_path / "data")
    assert sorted(mmlu.load_local(tmp_path)["dev"]) == ["abstract_algebra", "astronomy"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["q", "a", "b", "c", "E"]], r"astronomy_test.csv:1: expected 6 columns"),
        (
            [["q", "a", "b", "c", "d", "A"], ["q", "a", "b", "c", "d", "E"]],
            r"astronomy_test.csv:2: answer must be",
        ),
        ([], "no questions"),
        (
            [["q", "a", "b", "c", "d", "A"], ['"unterminated', "a", "b", "c", "d", "A"]],
            r"astronomy_test.csv:\d+:",
        ),
    ],
)
def test_bad_csv(tmp_path: Path, rows: list, message: str) -> None:
    bad = {"astronomy": {**MMLU_ROWS["astronomy"], "test": rows}}
    root = write_mmlu(tmp_path, bad)
    if rows and rows[-1][0].startswith('"'):
        (root / "test" / "astronomy_test.csv").write_text('q,a,b,c,d,A\n"unterminated,a,b,c,d,A\n')
    with pytest.raises(TaskError, match=message):
        mmlu.load_local(root)


def test_missing_split_and_non_utf8(tmp_path: Path) -> None:
    root = write_mmlu(tmp_path)
    (root / "dev" / "astronomy_dev.csv").unlink()
    with pytest.raises(
        TaskError, match=r"astronomy_dev.csv: missing \(dev split of subject 'astronomy'\)"
    ):
        mmlu.load_local(root)
    (root / "dev" / "astronomy_dev.csv").write_bytes(b"q,a,b,c,d,A\nq\xff,a,b,c,d,B\n")
    with pytest.raises(TaskError, match=r"astronomy_dev.csv:2: not UTF-8"):
        mmlu.load_local(root)
    with pytest.raises(TaskError, match="not an MMLU folder"):
        mmlu.load_local(tmp_path / "dev")
    with pytest.raises(TaskError, match="unknown MMLU subject '../x'"):
        mmlu.load_local(root, ["../x"])


def test_hub_path_with_fake_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    downloaded: list[str] = []

    def hf_hub_download(repo_id, filename, repo_type=None, revision=None):
        assert repo_id == "cais/mmlu" and repo_type == "dataset"
        downloaded.append(filename)
        return str(tmp_path / filename.replace("/", "__"))

    monkeypatch.setitem(
        sys.modules, "huggingface_hub", types.SimpleNamespace(hf_hub_download=hf_hub_download)
    )
    rows = {
        "dev": [{"question": "d?", "choices": ["w", "x", "y", "z"], "answer": 2}],
        "test": [{"question": "t?", "choices": ["a", "b", "c", "d"], "answer": 1}],
    }

    def read_rows(path: Path) -> list[dict]:
        return rows["dev" if "__dev-" in path.name else "test"]

    data = mmlu.load_hf(subjects=["virology"], read_rows=read_rows)
    assert downloaded == [
        "virology/dev-00000-of-00001.parquet",
        "virology/test-00000-of-00001.parquet",
    ]
    (s,), _ = mmlu.item_sets(data, [1], ["letter"])
    assert s.items[0].prompt.endswith(
        "d?\nA. w\nB. x\nC. y\nD. z\nAnswer: C\n\nt?\nA. a\nB. b\nC. c\nD. d\nAnswer:"
    )
    assert s.items[0].target_scores == (0.0, 1.0, 0.0, 0.0)
    rows["test"] = [{"question": "t?", "choices": ["a", "b"], "answer": 1}]
    with pytest.raises(TaskError, match="row 0"):
        mmlu.load_hf(subjects=["virology"], read_rows=read_rows)


def test_parquet_without_pyarrow_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(TaskError, match="needs pyarrow"):
        mmlu._read_parquet_rows(tmp_path / "x.parquet")


@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet=st.sampled_from('ab,"\n\rABCDE '), max_size=60))
def test_arbitrary_csv_never_crashes(text: str) -> None:
    try:
        questions = mmlu.parse_csv(text, "anatomy", "fuzz.csv")
    except TaskError:
        return
    assert all(0 <= q.answer < 4 and len(q.options) == 4 for q in questions)
