"""MMLU (Hendrycks et al.): 57 subjects, the original k-shot prompt, two scoring modes.

Prompt (the original ``evaluate.py``): a header naming the subject, the first k
questions of the subject's dev split with their answers, then the test question
ending in ``"Answer:"``. Scoring ``"letter"`` compares log P(" A") .. log P(" D")
(the original method); ``"full"`` compares the log-likelihood of each answer's
text, which small models often handle better than the letter mapping — showing
both is how the lab separates "knows the answer" from "can use the format".

``limit`` applies per subject (the first N test questions of each), because items
are grouped by subject for prefix sharing and a global cut would keep only the
first subject.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emergetui.tasks.base import Item, ItemSet, TaskError
from emergetui.tasks.fewshot import ShotOrder, setting_name
from emergetui.tasks.metrics import applicable_metrics
from emergetui.tasks.sources import read_text

SUBJECTS: tuple[str, ...] = (
    "abstract_algebra",
    "anatomy",
    "astronomy",
    "business_ethics",
    "clinical_knowledge",
    "college_biology",
    "college_chemistry",
    "college_computer_science",
    "college_mathematics",
    "college_medicine",
    "college_physics",
    "computer_security",
    "conceptual_physics",
    "econometrics",
    "electrical_engineering",
    "elementary_mathematics",
    "formal_logic",
    "global_facts",
    "high_school_biology",
    "high_school_chemistry",
    "high_school_computer_science",
    "high_school_european_history",
    "high_school_geography",
    "high_school_government_and_politics",
    "high_school_macroeconomics",
    "high_school_mathematics",
    "high_school_microeconomics",
    "high_school_physics",
    "high_school_psychology",
    "high_school_statistics",
    "high_school_us_history",
    "high_school_world_history",
    "human_aging",
    "human_sexuality",
    "international_law",
    "jurisprudence",
    "logical_fallacies",
    "machine_learning",
    "management",
    "marketing",
    "medical_genetics",
    "miscellaneous",
    "moral_disputes",
    "moral_scenarios",
    "nutrition",
    "philosophy",
    "prehistory",
    "professional_accounting",
    "professional_law",
    "professional_medicine",
    "professional_psychology",
    "public_relations",
    "security_studies",
    "sociology",
    "us_foreign_policy",
    "virology",
    "world_religions",
)
LETTERS = ("A", "B", "C", "D")
SCORING = ("letter", "full")
HF_REPO = "cais/mmlu"
#: CSV split folder -> file suffix; the HF repo calls "val" "validation".
_HF_SPLIT = {"dev": "dev", "val": "validation", "test": "test"}


@dataclass(frozen=True)
class Question:
    """One MMLU row."""

    subject: str
    index: int
    question: str
    options: tuple[str, str, str, str]
    answer: int  # 0..3

    def block(self, with_answer: bool) -> str:
        lines = [self.question] + [
            f"{ltr}. {opt}" for ltr, opt in zip(LETTERS, self.options, strict=True)
        ]
        text = "\n".join(lines) + "\nAnswer:"
        return text + f" {LETTERS[self.answer]}\n\n" if with_answer else text


def header(subject: str) -> str:
    return (
        "The following are multiple choice questions (with answers) "
        f"about {subject.replace('_', ' ')}.\n\n"
    )


def check_subjects(subjects: Sequence[str] | None, where: str) -> tuple[str, ...]:
    if subjects is None:
        return SUBJECTS
    unknown = [s for s in subjects if s not in SUBJECTS]
    if unknown:
        raise TaskError(
            f"{where}: unknown MMLU subject {unknown[0]!r} (see emergetui.tasks.mmlu.SUBJECTS)"
        )
    return tuple(subjects)


def parse_csv(text: str, subject: str, where: str) -> list[Question]:
    """Rows ``question,A,B,C,D,answer`` (no header); errors name file and line."""
    out: list[Question] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != 6:
                raise TaskError(
                    f"{where}:{line}: expected 6 columns (question,A,B,C,D,answer), got {len(row)}"
                )
            answer = row[5].strip().upper()
            if answer not in LETTERS:
                raise TaskError(f"{where}:{line}: answer must be A, B, C or D, got {row[5]!r}")
            out.append(
                Question(
                    subject,
                    len(out),
                    row[0],
                    (row[1], row[2], row[3], row[4]),
                    LETTERS.index(answer),
                )
            )
    except csv.Error as e:
        raise TaskError(f"{where}:{reader.line_num}: malformed CSV: {e}") from None
    if not out:
        raise TaskError(f"{where}: no questions")
    return out


def _split_dir(root: Path) -> Path:
    """Accept the folder holding dev/ val/ test/, or its parent (the tarball's ``data/``)."""
    if (root / "test").is_dir() or (root / "dev").is_dir():
        return root
    if (root / "data" / "test").is_dir():
        return root / "data"
    raise TaskError(
        f"{root}: not an MMLU folder (expected dev/, val/ and test/ with <subject>_<split>.csv)"
    )


def load_local(
    root: Path, subjects: Sequence[str] | None = None, splits: Sequence[str] = ("dev", "test")
) -> dict[str, dict[str, list[Question]]]:
    """``{split: {subject: questions}}`` from the original CSV layout.

    Without an explicit subject list, the subjects are those present in ``test/``;
    a subject missing one of the needed splits is an error naming the file.
    """
    root = _split_dir(root.expanduser())
    if subjects is None:
        found = sorted(p.name[: -len("_test.csv")] for p in (root / "test").glob("*_test.csv"))
        if not found:
            raise TaskError(f"{root / 'test'}: no <subject>_test.csv files")
        subjects = found  # names come from file names, so any subject folder layout works
    else:
        subjects = check_subjects(subjects, str(root))
    data: dict[str, dict[str, list[Question]]] = {split: {} for split in splits}
    for subject in subjects:
        for split in splits:
            file = root / split / f"{subject}_{split}.csv"
            if not file.is_file():
                raise TaskError(f"{file}: missing ({split} split of subject {subject!r})")
            data[split][subject] = parse_csv(read_text(file), subject, str(file))
    return data


def _read_parquet_rows(path: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise TaskError(
            "reading MMLU from the Hugging Face Hub needs pyarrow (pip install pyarrow), "
            "or pass a local folder of the original CSVs"
        ) from None
    try:
        return pq.read_table(path).to_pylist()
    except Exception as e:
        raise TaskError(f"{path}: cannot read parquet: {e}") from None


def rows_to_questions(rows: Iterable[dict[str, Any]], subject: str, where: str) -> list[Question]:
    """HF rows ``{question, choices[4], answer: int}`` -> questions, validated."""
    out: list[Question] = []
    for i, row in enumerate(rows):
        q, choices, ans = row.get("question"), row.get("choices"), row.get("answer")
        if (
            not isinstance(q, str)
            or not isinstance(choices, (list, tuple))
            or len(choices) != 4
            or not all(isinstance(c, str) for c in choices)
        ):
            raise TaskError(f"{where}: row {i}: needs a 'question' string and 4 'choices' strings")
        if isinstance(ans, str) and ans.strip().upper() in LETTERS:
            ans = LETTERS.index(ans.strip().upper())
        if not isinstance(ans, int) or isinstance(ans, bool) or not 0 <= ans < 4:
            raise TaskError(f"{where}: row {i}: 'answer' must be 0-3, got {ans!r}")
        out.append(Question(subject, i, q, (choices[0], choices[1], choices[2], choices[3]), ans))
    if not out:
        raise TaskError(f"{where}: no questions")
    return out


def load_hf(
    repo_id: str = HF_REPO,
    subjects: Sequence[str] | None = None,
    splits: Sequence[str] = ("dev", "test"),
    revision: str | None = None,
    read_rows: Callable[[Path], list[dict[str, Any]]] = _read_parquet_rows,
) -> dict[str, dict[str, list[Question]]]:
    """Same shape as :func:`load_local`, from ``cais/mmlu``'s per-subject parquet files
    (``<subject>/<split>-00000-of-00001.parquet``)."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise TaskError(
            "loading MMLU from the Hub needs huggingface_hub (pip install huggingface-hub)"
        ) from None
    chosen = check_subjects(subjects, f"hf://{repo_id}")
    data: dict[str, dict[str, list[Question]]] = {split: {} for split in splits}
    for subject in chosen:
        for split in splits:
            name = f"{subject}/{_HF_SPLIT[split]}-00000-of-00001.parquet"
            try:
                local = Path(hf_hub_download(repo_id, name, repo_type="dataset", revision=revision))
            except Exception as e:
                raise TaskError(f"hf://{repo_id}/{name}: download failed: {e}") from None
            data[split][subject] = rows_to_questions(
                read_rows(local), subject, f"hf://{repo_id}/{name}"
            )
    return data


def item_sets(
    data: dict[str, dict[str, list[Question]]],
    shots: Sequence[int],
    scoring: Sequence[str] = SCORING,
    limit: int | None = None,
    task: str = "mmlu",
    source: str = "",
) -> tuple[list[ItemSet], list[TaskError]]:
    """One ItemSet per (shot count, scoring); items grouped by subject, ids ``subject/index``."""
    errors: list[TaskError] = []
    sets: list[ItemSet] = []
    for mode in scoring:
        if mode not in SCORING:
            raise TaskError(f"{task}: scoring must be among {SCORING}, got {mode!r}")
    for k in shots:
        for mode in scoring:
            items: list[Item] = []
            try:
                for subject, questions in data["test"].items():
                    dev = data["dev"].get(subject, [])
                    picked = ShotOrder.in_order(len(dev)).shots_for(
                        k, lambda _i: False, f"{task}/{subject} (dev split)"
                    )
                    context = header(subject) + "".join(dev[i].block(True) for i in picked)
                    for q in questions[:limit] if limit is not None else questions:
                        choices = (
                            [f" {ltr}" for ltr in LETTERS]
                            if mode == "letter"
                            else [f" {o}" for o in q.options]
                        )
                        items.append(
                            Item(
                                item_id=f"{subject}/{q.index}",
                                prompt=context + q.block(False),
                                choices=tuple(choices),
                                target_scores=tuple(
                                    1.0 if i == q.answer else 0.0 for i in range(4)
                                ),
                                shots=k,
                                meta=(
                                    ("subject", subject),
                                    ("answer", LETTERS[q.answer]),
                                    ("scoring", mode),
                                ),
                            )
                        )
            except TaskError as e:
                errors.append(e)
                continue
            metrics = applicable_metrics(items[0]) if items else ()
            sets.append(
                ItemSet(
                    task=task,
                    setting=setting_name(k, mode),
                    items=items,
                    metrics=metrics,
                    preferred_metric="multiple_choice_grade",
                    shots=k,
                    description=(
                        f"MMLU, {len(data['test'])} subjects, {k}-shot from dev, {mode} scoring"
                    ),
                    extra={
                        "source": "mmlu",
                        "path": source,
                        "scoring": mode,
                        "subjects": str(len(data["test"])),
                    },
                )
            )
    return sets, errors


def subject_of(item: Item) -> str:
    return dict(item.meta).get("subject", "")


def subject_scores(scores: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Mean score per subject from ``(subject, score)`` pairs; NaN scores are skipped."""
    sums: dict[str, list[float]] = defaultdict(list)
    for subject, score in scores:
        if not math.isnan(score):
            sums[subject].append(score)
    return {s: math.fsum(v) / len(v) for s, v in sorted(sums.items()) if v}


def macro_micro(scores: Iterable[tuple[str, float]]) -> tuple[float, float]:
    """``(macro, micro)``: mean of subject means (each subject counts once) and mean
    over all questions. NaN when empty.

    The micro average is MMLU's headline: the original evaluation (Hendrycks et
    al., evaluate.py) reports the accuracy over all questions pooled, and the
    curves here pool items too. The macro average is a breakdown view.
    """
    pairs = [(s, x) for s, x in scores if not math.isnan(x)]
    if not pairs:
        return math.nan, math.nan
    per = subject_scores(pairs)
    macro = math.fsum(per.values()) / len(per)
    micro = math.fsum(x for _, x in pairs) / len(pairs)
    return macro, micro
