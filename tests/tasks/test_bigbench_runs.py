"""BIG-bench tasks run end to end on real models: suites by name, corpus metrics, edit distance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emergetui.cli import main
from emergetui.engine import Engine
from emergetui.store.results import Store
from emergetui.tasks import bigbench_metrics as bbm
from emergetui.tasks.metrics import BIGBENCH_DEFAULT_REGEX, levenshtein, postprocess_output

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bigbench"
TOY = Path(__file__).resolve().parents[2] / "emergetui" / "data" / "toy"
#: The BIG-bench Lite tasks present in tests/fixtures/bigbench.
LITE_HERE = {
    "auto_debugging",
    "conlang_translation",
    "emoji_movie",
    "logical_deduction",
    "novel_concepts",
    "repeat_copy_logic",
}


@pytest.fixture()
def tiny_ladder(tmp_path: Path, tiny_model: Path, tiny_model_b: Path) -> Path:
    p = tmp_path / "ladder.toml"
    p.write_text(
        "[ladders.tiny]\n"
        'description = "two tiny random models"\n'
        "rungs = [\n"
        f'  {{ label = "small", params = 20000, path = "{tiny_model}" }},\n'
        f'  {{ label = "large", params = 90000, path = "{tiny_model_b}" }},\n'
        "]\n"
    )
    return p


def test_suite_bigbench_lite_runs_every_json_task_in_the_dir(
    tmp_path: Path, tiny_ladder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "s.sqlite"
    code = main(
        [
            "--batch",
            "--json",
            "--no-heldout",
            "--ladder",
            str(tiny_ladder),
            "--suite",
            "bigbench-lite",
            "--bigbench-dir",
            str(FIXTURES),
            "--limit",
            "2",
            "--store",
            str(store),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    tasks = {r["task"].split(":")[0] for r in doc["results"]}
    assert tasks == LITE_HERE
    # one warning for the 18 suite tasks this folder lacks; the rest ran
    warnings = [line for line in err.splitlines() if "suite bigbench-lite" in line]
    assert len(warnings) == 1 and "18 not found" in warnings[0] and "other 6 of 24" in warnings[0]
    corpus = [r for r in doc["results"] if r.get("level") == "corpus"]
    bleu = {(r["task"], r["rung"]): r for r in corpus if r["metric"] == "bleu"}
    assert ("emoji_movie", "small") in bleu and ("conlang_translation:adna_from", "large") in bleu
    assert all(
        r["ci_low"] <= r["value"] + 1e-9 and r["value"] <= r["ci_high"] + 1e-9
        for r in bleu.values()
    )
    assert {r["metric"] for r in corpus if r["task"] == "emoji_movie"} == {
        "bleu",
        "calibration_multiple_choice_brier_score",
        "expected_calibration_error",
    }
    names = {r["metric"] for r in doc["results"] if r["task"] == "conlang_translation:adna_from"}
    assert {"rouge1", "rouge2", "rougeLsum", "exact_match", "bleu"} <= names
    head = {h["task"]: h for h in doc["headline"]}
    assert head["conlang_translation:adna_from"]["metric"] == "rougeLsum"  # preferred_score
    assert head["novel_concepts"]["low_score"] == pytest.approx(0.2)  # mean target score
    # the corpus values are BIG-bench's bleu_fn on the stored answers (offline recomputation)
    with Store(store) as st:
        recs = [r for r in st.records(doc["run_id"], rung="small", task="emoji_movie")]
    again = bbm.bleu([r.targets for r in recs], [r.raw.response or "" for r in recs])
    assert bleu[("emoji_movie", "small")]["value"] == pytest.approx(again, abs=1e-12)


def _toy_answer(prompt: str) -> str:
    """What the toy ladder's largest model answers, after BIG-bench's default regex."""
    got = []
    with Engine.load(TOY / "toy-7.gguf", n_gpu_layers=0) as eng:
        eng.generate([prompt], max_tokens=8, stop=("\n",), on_result=lambda _i, g: got.append(g))
    return postprocess_output(got[0].text, None, BIGBENCH_DEFAULT_REGEX)


def test_a_correct_answer_after_a_prompt_ending_in_a_space_has_edit_distance_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: the target used to be tokenized with the prompt's trailing space
    moved into it, the answer as a continuation of that space, so a right answer
    scored distance >= 1 (here the space token)."""
    answer = _toy_answer("9965+7009= ")
    assert answer  # the toy model writes digits here
    task = {
        "name": "space",
        "metrics": ["exact_str_match"],
        "preferred_score": "exact_str_match",
        "example_input_prefix": "",
        "example_output_prefix": "= ",
        "examples": [{"input": "9965+7009", "target": answer}],
    }
    (tmp_path / "task.json").write_text(json.dumps(task))
    store = tmp_path / "s.sqlite"
    code = main(
        [
            "--batch",
            "--json",
            "--no-heldout",
            "--ladder",
            "toy",
            "--rungs",
            "toy-7",
            "--task",
            str(tmp_path / "task.json"),
            "--store",
            str(store),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    with Store(store) as st:
        (rec,) = st.records(json.loads(out)["run_id"])
    assert rec.metrics["exact_match"] == 1.0
    assert rec.metrics["token_edit_distance"] == 0.0
    assert rec.raw.response == answer
    assert rec.raw.edit_response_tokens == rec.raw.edit_target_tokens[0]
    # what the old comparison saw: the generation's tokens vs the scored target's tokens
    assert levenshtein(rec.raw.generated_tokens, rec.raw.target_tokens[0]) >= 1
