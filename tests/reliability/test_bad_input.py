"""Bad input, fuzzed: every broken task or ladder file is one clear error, never a traceback.

Property, for the BIG-bench JSON loader, the MMLU CSV loader, task TOML and
models.toml: loading a file either works or raises exactly TaskError /
LadderError, whose message is one line that names the file. Through the CLI:
exit status 2, one line on stderr, no "Traceback". tests/tasks already fuzzes
the parsers on in-memory values; these tests go through files (bytes that are
not UTF-8, NaN and 5000-digit numbers, nesting deep enough to blow the stack,
keys with newlines) and through the command line. Names and paths in task and
ladder files that would leave their folder are refused.

Hypothesis runs derandomized (the same examples on every CI run) with no
example database, so a failure here always reproduces.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from emergetui.cli import main
from emergetui.models.ladders import LadderError, get_ladder, parse_ladder_file
from emergetui.tasks import bigbench, mmlu, registry
from emergetui.tasks.base import TaskError

FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --------------------------------------------------------------------------- strategies

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
odd_numbers = st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -1.0, 1e308, 10**19, -(10**30)])
scalars = st.none() | st.booleans() | st.integers(-5, 40) | odd_numbers | st.floats() | text
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=16,
)


def _mutated(good: st.SearchStrategy[Any], keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict of known keys with well-formed or arbitrary values, sometimes with a stray key."""
    return st.dictionaries(st.sampled_from(keys) | text, good | json_like, max_size=len(keys) + 1)


examples_ = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "input": text | json_like,
            "target": text | st.lists(text, max_size=3) | json_like,
            "target_scores": st.dictionaries(
                text, st.integers(0, 1) | odd_numbers | json_like, max_size=4
            )
            | json_like,
            "comment": text,
        },
    ),
    max_size=6,
)
bigbench_docs = (
    st.fixed_dictionaries(
        {},
        optional={
            "name": text | st.sampled_from(["../../escape", "a/b", ".hidden", "ok"]) | json_like,
            "description": text | json_like,
            "metrics": st.lists(
                st.sampled_from(["multiple_choice_grade", "exact_str_match", "bleu"]) | text,
                max_size=3,
            )
            | json_like,
            "preferred_score": text,
            "examples": examples_ | json_like,
            "output_regex": st.sampled_from([r"\d+", "(a)(b)", "([", ""]) | json_like,
            "stop_string": text | json_like,
            "task_prefix": text | json_like,
            "example_input_prefix": text | json_like,
            "append_choices_to_input": st.booleans() | json_like,
            "few_shot_example_separator": text,
        },
    )
    | json_like
)


def _json_text(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False)  # NaN / Infinity stay: Python's json reads them


def _raw_variants(body: str) -> st.SearchStrategy[bytes]:
    """The serialized document, or it cut short, or with a byte that is not UTF-8."""
    data = body.encode("utf-8")
    return st.sampled_from([data, data[: len(data) // 2], data[:7] + b"\xff\xfe" + data[7:]])


def _toml_value(v: Any) -> str:
    """Just enough TOML writing for fuzzing (no tomli_w dependency); keys and strings
    JSON-quoted.
    """
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return (
            "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
        )
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        return (
            "{"
            + ", ".join(
                f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(x)}"
                for k, x in v.items()
                if x is not None
            )
            + "}"
        )
    return '""'


def _toml_doc(doc: dict[str, Any]) -> str:
    lines = [
        f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(v)}"
        for k, v in doc.items()
        if v is not None
    ]
    return "\n".join(lines) + "\n"


task_sources = st.fixed_dictionaries(
    {"type": st.sampled_from(["arithmetic", "bigbench", "mmlu", "csv"]) | json_like},
    optional={
        "op": st.sampled_from(["add", "sub", "mul", "div", "pow"]) | json_like,
        "digits": st.integers(-1, 7) | json_like,
        "n": st.integers(-2, 30) | st.sampled_from([10**18, 2_000_000]) | json_like,
        "style": st.sampled_from(["bigbench", "plain", "latex"]),
        "path": st.sampled_from(
            ["bb", "bb/task.json", "mmlu", "../outside", "/nonexistent", "", "bb\x00x"]
        )
        | json_like,
        "hf_repo": st.sampled_from(["org/repo", "../x", ""]),
        "hf_file": st.sampled_from(["task.json", "../t.json", "/abs"]),
        "hf": st.sampled_from(["cais/mmlu", "x"]),
        "scoring": st.lists(st.sampled_from(["letter", "full", "words"]), max_size=3) | json_like,
        "subjects": st.lists(st.sampled_from(["anatomy", "virology", "../x"]), max_size=2)
        | json_like,
        "revision": text,
    },
)
task_docs = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["t", "../x", "a/b", ".x", "", "ok\nnewline"]) | json_like,
        "description": text,
        "shots": st.lists(st.integers(-1, 6) | st.just(10**18), max_size=3) | json_like,
        "limit": st.integers(-1, 5) | json_like,
        "metrics": st.lists(
            st.sampled_from(["exact_match", "multiple_choice_grade", "bleu"]), max_size=2
        )
        | json_like,
        "max_tokens": st.integers(-1, 9) | json_like,
        "shot_sampling": st.sampled_from(["fixed", "bigbench", "random"]) | json_like,
        "source": task_sources | json_like,
        "prompt": _mutated(
            text,
            ["task_prefix", "example_input_prefix", "output_regex", "stop_string", "input_prefix"],
        ),
    },
).flatmap(
    lambda d: st.dictionaries(text, json_like, max_size=1).map(lambda stray: {**stray, **d})
)  # + a stray key

rungs = st.fixed_dictionaries(
    {},
    optional={
        "label": st.sampled_from(["0.5B", "../x", "a b", "", "ok\nx"]) | json_like,
        "params": st.integers(-1, 10**12) | json_like,
        "repo": st.sampled_from(["Qwen/Qwen2.5-0.5B-GGUF", "noslash", "a/b/c", "../x/y"])
        | json_like,
        "pattern": st.sampled_from(["Q4_K_M", "*", ""]) | json_like,
        "file": st.sampled_from(["m.gguf", "../../etc/x.gguf", "/abs.gguf", "m.bin"]) | json_like,
        "path": st.sampled_from(["model.gguf", "../outside.gguf", "/nonexistent.gguf", ""])
        | json_like,
        "sha256": st.sampled_from(["0" * 64, "xyz"]) | json_like,
        "size": st.integers(-1, 10) | json_like,
        "revision": text,
        "extra": text,
    },
)
ladder_tables = st.fixed_dictionaries(
    {},
    optional={
        "description": text | json_like,
        "rungs": st.lists(rungs, max_size=3) | json_like,
        "pattern": st.sampled_from(["Q8_0", ""]) | json_like,
        "revision": text | json_like,
        "heldout": st.sampled_from(["corpus.txt", "../secret.txt", ""]) | json_like,
        "kind": st.sampled_from(["hub", "bundled", "other"]) | json_like,
        "manifest": st.sampled_from(["m.json", "../m.json"]) | json_like,
        "junk": text,
    },
)
ladder_docs = st.dictionaries(
    st.sampled_from(["tiny", "a b", "../x", "ok\nx", ""]), ladder_tables, max_size=2
)


# --------------------------------------------------------------------------- helpers


def _one_line_naming(err: Exception, path: Path) -> None:
    msg = str(err)
    assert "\n" not in msg and "\r" not in msg, repr(msg)
    assert str(path) in msg, msg


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the things fuzzed files point at: a BIG-bench task, an MMLU folder, a file
    outside.

    The Hub is stubbed out: hf sources must fail as fast as being offline does.
    """
    import huggingface_hub

    def offline(*a: object, **k: object) -> None:
        raise ConnectionError("offline (test)")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    monkeypatch.setattr(huggingface_hub, "list_repo_files", offline)
    work = tmp_path / "work" / "inner"
    (work / "bb").mkdir(parents=True)
    (work / "bb" / "task.json").write_text(
        json.dumps(
            {
                "name": "bb",
                "metrics": ["multiple_choice_grade"],
                "examples": [
                    {"input": f"q{i}", "target_scores": {"a": 1, "b": 0}} for i in range(4)
                ],
            }
        )
    )
    for split in ("dev", "test"):
        (work / "mmlu" / split).mkdir(parents=True)
        (work / "mmlu" / split / f"anatomy_{split}.csv").write_text("q,a,b,c,d,A\nr,a,b,c,d,B\n")
    (tmp_path / "work" / "outside").mkdir()
    (tmp_path / "work" / "outside.gguf").write_bytes(b"GGUF")
    (tmp_path / "work" / "secret.txt").write_text("secret")
    (work / "corpus.txt").write_text("text")
    return work


# --------------------------------------------------------------------------- loaders


@FUZZ
@given(doc=bigbench_docs, data=st.data())
@example(
    doc={"examples": [{"input": "q", "target_scores": {"a": math.nan, "b": 1}}] * 3}, data=None
)
def test_bigbench_json_files(workdir: Path, doc: Any, data: st.DataObject | None) -> None:
    path = workdir / "fuzz" / "task.json"
    path.parent.mkdir(exist_ok=True)
    body = _json_text(doc)
    raw = data.draw(_raw_variants(body)) if data is not None else body.encode()
    path.write_bytes(raw)
    try:
        tasks, errors = bigbench.load_bigbench(path)
    except TaskError as e:
        _one_line_naming(e, path)
        return
    assert not errors
    for task in tasks:
        for sampling in bigbench.SHOT_SAMPLING:
            sets, errs = bigbench.item_sets(
                task, [0, 1, 3], seed=1, shot_sampling=sampling, limit=3
            )
            assert all(isinstance(e, TaskError) and "\n" not in str(e) for e in errs)
            assert all(s.items for s in sets)


BIG = "9" * 5000  # past Python's 4300-digit int conversion limit: json/tomllib raise ValueError
DEEP_JSON, DEEP_TOML = "[" * 100_000 + "]" * 100_000, "[" * 50_000 + "]" * 50_000  # RecursionError


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("task.json", '{"examples": [{"input": "q", "target": "t"}], "x": ' + BIG + "}"),
        ("task.json", '{"examples": ' + DEEP_JSON + "}"),
        ("task.toml", f'x = {BIG}\n[source]\ntype = "arithmetic"\n'),
        ("task.toml", f"x = {DEEP_TOML}\n"),
        ("ladder.toml", f"zz = {BIG}\n"),
        ("ladder.toml", f"zz = {DEEP_TOML}\n"),
    ],
    ids=[
        "json-bigint",
        "json-deep",
        "task-toml-bigint",
        "task-toml-deep",
        "ladder-bigint",
        "ladder-deep",
    ],
)
def test_huge_numbers_and_deep_nesting(
    workdir: Path, tiny_ladder: Path, name: str, body: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Limits of the parsers themselves (not syntax errors) are bad input like any other."""
    path = workdir / name
    path.write_text(body)
    error = LadderError if name == "ladder.toml" else TaskError
    load = {
        "task.json": bigbench.load_bigbench,
        "task.toml": registry.load_task_toml,
        "ladder.toml": parse_ladder_file,
    }[name]
    with pytest.raises(error) as info:
        load(path)
    _one_line_naming(info.value, path)
    ladder, task = (
        (path, workdir / "bb" / "task.json") if name == "ladder.toml" else (tiny_ladder, path)
    )
    code = main(
        [
            "--batch",
            "--ladder",
            str(ladder),
            "--task",
            str(task),
            "--store",
            str(workdir / "s.sqlite"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and str(path) in err and "Traceback" not in err, err


@FUZZ
@given(
    rows=st.lists(st.lists(text | st.sampled_from(["A", " b ", "E", ""]), max_size=8), max_size=5),
    dev=st.booleans(),
    mangle=st.sampled_from(["", "cut", "latin1", "nul", "huge"]),
)
def test_mmlu_csv_files(workdir: Path, rows: list[list[str]], dev: bool, mangle: str) -> None:
    root = workdir / "fuzz-mmlu"
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    data = buf.getvalue().encode("utf-8")
    data = {
        "": data,
        "cut": data[: len(data) // 2] + b'"',
        "latin1": b"caf\xe9," + data,
        "nul": data + b"\x00,a",
        "huge": b'"' + b"x" * 200_000 + b'",a,b,c,d,A\n',
    }[mangle]
    target = root / ("dev" if dev else "test") / f"anatomy_{'dev' if dev else 'test'}.csv"
    other = root / ("test" if dev else "dev") / f"anatomy_{'test' if dev else 'dev'}.csv"
    for p in (target, other):
        p.parent.mkdir(parents=True, exist_ok=True)
    other.write_text("q,a,b,c,d,C\n")
    target.write_bytes(data)
    try:
        loaded = mmlu.load_local(root)
    except TaskError as e:
        _one_line_naming(e, target)
        return
    sets, errors = mmlu.item_sets(loaded, [0, 1, 4], limit=2)
    assert all(isinstance(e, TaskError) and "\n" not in str(e) for e in errors)
    assert all(it.prompt.endswith("Answer:") for s in sets for it in s.items)


@FUZZ
@given(doc=task_docs, raw=st.sampled_from(["", "cut", "bigint", "deep", "latin1"]))
def test_task_toml_files(workdir: Path, doc: dict[str, Any], raw: str) -> None:
    path = workdir / "fuzz.toml"
    body = _toml_doc(doc)
    body = {
        "": body,
        "cut": body[: len(body) // 2],
        "bigint": body + "zz = " + "9" * 5000 + "\n",
        "deep": body + "zz = " + "[" * 50_000 + "]" * 50_000 + "\n",
        "latin1": body,
    }[raw]
    path.write_bytes(body.encode("utf-8") + (b'\nd = "\xe9"\n' if raw == "latin1" else b""))
    try:
        tdef = registry.load_task_toml(path)
    except TaskError as e:
        _one_line_naming(e, path)
        return
    try:
        sets, errors = registry._from_def(tdef, registry._Run(None, 2, 0, None))
    except TaskError as e:
        # names the TOML, the file it points at (all under workdir), the hf:// source, or the task
        msg = str(e)
        assert "\n" not in msg and (
            str(workdir) in msg or "hf://" in msg or msg.startswith("task ")
        ), msg
        return
    assert all(isinstance(e, TaskError) and "\n" not in str(e) for e in errors)
    assert all(s.items for s in sets)


@FUZZ
@given(doc=ladder_docs, raw=st.sampled_from(["", "cut", "bigint", "deep", "top"]))
def test_ladder_toml_files(workdir: Path, doc: dict[str, Any], raw: str) -> None:
    path = workdir / "models.toml"
    body = "".join(
        f"[ladders.{json.dumps(name, ensure_ascii=False)}]\n{_toml_doc(table)}"
        for name, table in doc.items()
    )
    body = {
        "": body,
        "cut": body[: len(body) // 2],
        "bigint": body + "[x]\nzz = " + "9" * 5000 + "\n",
        "deep": "zz = " + "[" * 50_000 + "]" * 50_000 + "\n" + body,
        "top": "zz = 1\n" + body,
    }[raw]
    path.write_text(body, encoding="utf-8")
    try:
        ladders = parse_ladder_file(path)
    except LadderError as e:
        assert "\n" not in str(e) and "\r" not in str(e), repr(str(e))
        assert str(workdir) in str(e), str(e)  # the file, or the manifest it points at
        return
    for lad in ladders.values():
        assert lad.heldout is None or "secret" not in str(lad.heldout)
        for r in lad.rungs:
            assert r.path is None or "outside" not in str(r.path)
            assert r.label and r.params > 0


# --------------------------------------------------------------------------- through the CLI


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(kind=st.sampled_from(["task.json", "task.toml", "ladder.toml"]), doc=json_like)
@example(kind="ladder.toml", doc={"ladders": {"a\nb": {}}})
@example(
    kind="ladder.toml",
    doc={"ladders": {"x": {"rungs": [{"label": "x", "params": 1, "path": "m.gguf", "k\ny": 1}]}}},
)
@example(kind="task.toml", doc={"source": {"type": "arithmetic", "o\np": 1}})
def test_cli_bad_files_exit_2_with_one_line(
    workdir: Path, tiny_ladder: Path, kind: str, doc: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workdir / kind
    if kind == "task.json":
        path.write_text(_json_text(doc), encoding="utf-8")
    else:
        table = doc if isinstance(doc, dict) else {"x": doc}
        body = _toml_doc({k: v for k, v in table.items() if not isinstance(v, dict)})
        for k, v in table.items():
            if isinstance(v, dict):
                body += f"[{json.dumps(k, ensure_ascii=False)}]\n" + "".join(
                    f"[{json.dumps(k, ensure_ascii=False)}.{json.dumps(n, ensure_ascii=False)}]\n"
                    + _toml_doc(t if isinstance(t, dict) else {"v": t})
                    for n, t in v.items()
                )
        path.write_text(body, encoding="utf-8")
    argv = [
        "--batch",
        "--store",
        str(workdir / "s.sqlite"),
        "--no-heldout",
        "--limit",
        "1",
        "--json",
    ]
    if kind == "ladder.toml":
        # "--rungs" names no rung of any ladder: a file that parses still stops before model work
        argv += [
            "--ladder",
            str(path),
            "--task",
            str(workdir / "bb" / "task.json"),
            "--rungs",
            "nonexistent-rung",
        ]
    else:
        from emergetui.tasks.registry import resolve_tasks

        assume(
            not resolve_tasks([str(path)], None, 1, 0, [])[0]
        )  # a loadable task would start a run
        argv += ["--ladder", str(tiny_ladder), "--task", str(path)]
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (code, err)
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("emergetui: "), err
    if kind != "ladder.toml" or "nonexistent-rung" not in err:
        assert str(path) in err, err


# --------------------------------------------------------------------------- path traversal


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('[source]\ntype = "bigbench"\npath = "../outside"\n', "leaves the task file's folder"),
        ('[source]\ntype = "mmlu"\npath = "../outside"\n', "leaves the task file's folder"),
        ('name = "../../outside"\n[source]\ntype = "arithmetic"\n', "field 'name'"),
    ],
)
def test_task_files_cannot_point_outside_their_folder(
    workdir: Path, body: str, needle: str
) -> None:
    outside = workdir.parent / "outside"
    (outside / "task.json").write_text(
        (workdir / "bb" / "task.json").read_text()
    )  # a real task: refusal is not "not found"
    path = workdir / "evil.toml"
    path.write_text(body)
    with pytest.raises(TaskError, match=needle) as info:
        tdef = registry.load_task_toml(path)
        registry._from_def(tdef, registry._Run(None, 1, 0, None))
    _one_line_naming(info.value, path)


@pytest.mark.parametrize("name", ["../../escape", "a/b", "a\\b", ".hidden"])
def test_bigbench_task_names_that_are_paths_are_refused(workdir: Path, name: str) -> None:
    """A task's name becomes a file name in reports and exports; one that is a path is refused."""
    path = workdir / "named.json"
    path.write_text(json.dumps({"name": name, "examples": [{"input": "q", "target": "a"}]}))
    with pytest.raises(TaskError, match="field 'name'") as info:
        bigbench.load_bigbench(path)
    _one_line_naming(info.value, path)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("rung", 'path = "../outside.gguf"'),
        ("rung", 'path = "sub/../../outside.gguf"'),
        ("ladder", 'heldout = "../secret.txt"'),
        ("ladder", 'kind = "bundled"\nmanifest = "../m.json"'),
    ],
)
def test_ladder_files_cannot_point_outside_their_folder(
    workdir: Path, key: str, value: str
) -> None:
    (workdir.parent / "m.json").write_text(
        json.dumps([{"label": "a", "params": 1, "file": "outside.gguf"}])
    )
    path = workdir / "models.toml"
    rung = (
        f"{{ label = 'a', params = 1, {value} }}"
        if key == "rung"
        else "{ label = 'a', params = 1, path = 'm.gguf' }"
    )
    table = "" if key == "rung" else value + "\n"
    rungs = "" if "bundled" in value else f"rungs = [{rung}]\n"
    path.write_text(f"[ladders.evil]\n{table}{rungs}")
    with pytest.raises(LadderError, match="leaves the folder") as info:
        get_ladder(str(path))
    _one_line_naming(info.value, path)
    # an absolute path is an explicit choice and stays allowed
    path.write_text(
        "[ladders.ok]\n"
        f"rungs = [{{ label = 'a', params = 1, path = '{workdir.parent / 'outside.gguf'}' }}]\n"
    )
    assert get_ladder(str(path)).rungs[0].path == workdir.parent / "outside.gguf"


def test_cli_traversal_is_exit_2(
    workdir: Path, mix_task: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workdir / "models.toml"
    path.write_text(
        "[ladders.evil]\nrungs = [{ label = 'a', params = 1, path = '../outside.gguf' }]\n"
    )
    code = main(
        [
            "--batch",
            "--ladder",
            str(path),
            "--task",
            str(mix_task),
            "--store",
            str(workdir / "s.sqlite"),
        ]
    )
    err = capsys.readouterr().err
    assert (
        code == 2 and "leaves the folder" in err and err.count("\n") == 1 and "Traceback" not in err
    )


@pytest.mark.filterwarnings("ignore:'emergetui.cli' found in sys.modules:RuntimeWarning")
def test_python_dash_m_cli_bad_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``python -m emergetui.cli --batch --ladder nonexistent`` does, in this process
    (runpy).
    """
    import runpy
    import sys

    monkeypatch.setattr(
        sys,
        "argv",
        [
            "emergetui",
            "--batch",
            "--ladder",
            "no-such-ladder",
            "--store",
            str(tmp_path / "s.sqlite"),
        ],
    )
    with pytest.raises(SystemExit) as info:
        runpy.run_module("emergetui.cli", run_name="__main__")
    err = capsys.readouterr().err
    assert (
        info.value.code == 2
        and err.startswith("emergetui: unknown ladder")
        and err.count("\n") == 1
    )
