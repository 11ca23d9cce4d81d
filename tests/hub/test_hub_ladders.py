"""models.toml parsing, user overrides, the bundled toy ladder, and quant-pattern resolution."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from emergetui.models.ladders import (
    BUILTIN_FILE,
    LadderError,
    RungSpec,
    get_ladder,
    load_ladders,
    parse_ladder_file,
    select_gguf_files,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def write(tmp_path: Path, text: str, name: str = "ladders.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_builtin_ladders_load_and_are_ordered_by_params() -> None:
    ladders = load_ladders(include_user=False)
    for name in ("qwen2.5-instruct", "qwen3", "qwen2.5-base", "smollm2", "toy"):
        assert name in ladders
    sizes = {"qwen2.5-instruct": 7, "qwen3": 6, "qwen2.5-base": 7, "smollm2": 3}
    for name, n in sizes.items():
        assert len(ladders[name].rungs) == n
    raw = tomllib.loads(BUILTIN_FILE.read_text())["ladders"]
    for name, table in raw.items():
        params = [r["params"] for r in table.get("rungs", [])]
        assert params == sorted(params), f"{name} is not written in params order"
    for ladder in ladders.values():
        assert [r.params for r in ladder.rungs] == sorted(r.params for r in ladder.rungs)
        for rung in ladder.rungs:
            assert rung.path is not None or (rung.repo and (rung.pattern or rung.file))
    assert all(
        r.repo.startswith("Qwen/Qwen2.5-") and r.repo.endswith("-Instruct-GGUF")
        for r in ladders["qwen2.5-instruct"].rungs
    )
    assert all(r.repo.startswith("Qwen/Qwen3-") for r in ladders["qwen3"].rungs)


def test_toy_ladder_without_manifest_is_listed_but_not_usable() -> None:
    manifest = BUILTIN_FILE.parent / "toy" / "manifest.json"
    if manifest.exists():
        pytest.skip("toy ladder already built in this checkout")
    toy = load_ladders(include_user=False)["toy"]
    assert toy.kind == "bundled" and toy.rungs == [] and toy.problem
    with pytest.raises(LadderError, match="toy ladder not built"):
        get_ladder("toy", include_user=False)


def test_bundled_ladder_builds_rungs_from_manifest(tmp_path: Path) -> None:
    (tmp_path / "toy").mkdir()
    entries = [
        {"label": "t2", "params": 2000, "file": "t2.gguf", "sha256": "b" * 64},
        {"label": "t1", "params": 1000, "file": "t1.gguf", "sha256": "A" * 64},
    ]
    entries[0]["size_bytes"] = 1234  # emergetui.toy.files.RungRecord's name for it
    (tmp_path / "toy" / "manifest.json").write_text(
        json.dumps({"heldout": "heldout.txt", "rungs": entries})
    )
    f = write(tmp_path, '[ladders.mytoy]\nkind = "bundled"\nmanifest = "toy/manifest.json"\n')
    ladder = get_ladder(str(f))
    assert [r.label for r in ladder.rungs] == ["t1", "t2"]
    assert ladder.rungs[0].path == (tmp_path / "toy" / "t1.gguf").resolve()
    assert ladder.rungs[0].sha256 == "a" * 64 and ladder.rungs[1].size == 1234
    assert ladder.heldout == tmp_path / "toy" / "heldout.txt"

    (tmp_path / "toy" / "manifest.json").write_text(
        json.dumps([{**entries[0], "file": "../evil.gguf"}])
    )
    with pytest.raises(LadderError, match="manifest.json: rungs\\[0\\].file"):
        parse_ladder_file(f)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (
            '[ladders.a]\nrungs = [{ label = "x", params = 10, repo = "o/r" }]\n',
            "ladders.a.rungs[0].pattern",
        ),
        (
            '[ladders.a]\nrungs = [{ label = "x", repo = "o/r", pattern = "Q8_0" }]\n',
            "ladders.a.rungs[0].params",
        ),
        (
            "[ladders.a]\n"
            'rungs = [{ label = "x", params = "1B", repo = "o/r", pattern = "Q8_0" }]\n',
            "ladders.a.rungs[0].params",
        ),
        (
            "[ladders.a]\n"
            'rungs = [{ label = "x", params = 1, repo = "o/r", pattern = "Q8_0", colour = 1 }]\n',
            "ladders.a.rungs[0].colour",
        ),
        (
            "[ladders.a]\n"
            'rungs = [{ label = "../x", params = 1, repo = "o/r", pattern = "Q8_0" }]\n',
            "ladders.a.rungs[0].label",
        ),
        (
            "[ladders.a]\n"
            'rungs = [{ label = "x", params = 1, repo = "o/r", file = "../../etc/x.gguf" }]\n',
            "ladders.a.rungs[0].file",
        ),
        (
            "[ladders.a]\n"
            'rungs = [{ label = "x", params = 1, repo = "o/r", file = "/abs.gguf" }]\n',
            "ladders.a.rungs[0].file",
        ),
        (
            "[ladders.a]\n"
            'rungs = [{ label = "x", params = 1, repo = "o/r", pattern = "Q8_0", '
            'sha256 = "zz" }]\n',
            "ladders.a.rungs[0].sha256",
        ),
        (
            "[ladders.a]\n"
            'rungs = [{ label = "x", params = 1, repo = "not a repo", pattern = "Q8_0" }]\n',
            "ladders.a.rungs[0].repo",
        ),
        (
            '[ladders.a]\nrungs = [{ label = "x", params = 1, path = "m.gguf", repo = "o/r" }]\n',
            "ladders.a.rungs[0].repo",
        ),
        (
            '[ladders.a]\npattern = "Q8_0"\n'
            'rungs = [{ label = "x", params = 1, repo = "o/r" }, '
            '{ label = "x", params = 2, repo = "o/s" }]\n',
            "ladders.a.rungs[1].label",
        ),
        ("[ladders.a]\ndescription = 3\nrungs = []\n", "ladders.a.description"),
        ("[ladders.a]\nrungs = []\n", "ladders.a.rungs"),
        ('[ladders.a]\nflavour = "x"\n', "ladders.a.flavour"),
        ("[models.a]\n", "models"),
    ],
)
def test_bad_ladder_file_names_file_and_key(tmp_path: Path, body: str, where: str) -> None:
    f = write(tmp_path, body)
    with pytest.raises(LadderError) as info:
        parse_ladder_file(f)
    msg = str(info.value)
    assert msg.startswith(f"{f}: {where}"), msg


def test_toml_syntax_error_reports_line_and_column(tmp_path: Path) -> None:
    f = write(tmp_path, '[ladders.a]\ndescription = "ok"\nrungs = [ { label = "x", params = }\n')
    with pytest.raises(LadderError, match=r"ladders\.toml: invalid TOML: .*line 3, column"):
        parse_ladder_file(f)


def test_user_file_and_extra_file_override_builtin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    user = tmp_path / "cfg" / "emergetui" / "models.toml"
    user.parent.mkdir(parents=True)
    user.write_text(
        '[ladders.smollm2]\ndescription = "mine"\npattern = "Q4_K_M"\n'
        'rungs = [ { label = "360M", params = 360_000_000, repo = "me/s360" },'
        ' { label = "135M", params = 135_000_000, repo = "me/s135", revision = "v1" } ]\n'
    )
    ladders = load_ladders()
    s = ladders["smollm2"]
    assert s.description == "mine" and s.source_file == user
    assert [r.label for r in s.rungs] == ["135M", "360M"]  # sorted by params
    assert s.rungs[0].revision == "v1" and s.rungs[1].pattern == "Q4_K_M"
    assert "qwen3" in ladders  # the rest of the built-ins remain

    local = tmp_path / "m.gguf"
    extra = write(
        tmp_path,
        '[ladders.smollm2]\nheldout = "corpus.txt"\n'
        'rungs = [ { label = "a", params = 1, path = "m.gguf" } ]\n',
        name="extra.toml",
    )
    s = get_ladder("smollm2", [extra])
    assert s.rungs[0].path == local.resolve() and s.heldout == (tmp_path / "corpus.txt").resolve()
    with pytest.raises(LadderError, match="Did you mean: smollm2"):
        get_ladder("smolm2", [extra])


def test_get_ladder_from_file_requires_one_ladder(tmp_path: Path) -> None:
    two = write(
        tmp_path,
        '[ladders.a]\nrungs = [ { label = "a", params = 1, path = "x.gguf" } ]\n'
        '[ladders.b]\nrungs = [ { label = "b", params = 1, path = "y.gguf" } ]\n',
    )
    with pytest.raises(LadderError, match="defines 2 ladders \\(a, b\\)"):
        get_ladder(str(two))
    with pytest.raises(LadderError, match="not found"):
        get_ladder(str(tmp_path / "missing.toml"))


QWEN_OFFICIAL = [
    "qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf",
    "qwen2.5-7b-instruct-q4_k_m-00002-of-00002.gguf",
    "qwen2.5-7b-instruct-q4_0-00001-of-00001.gguf",
    "qwen2.5-7b-instruct-q8_0-00001-of-00003.gguf",
    "qwen2.5-7b-instruct-q8_0-00002-of-00003.gguf",
    "README.md",
]
MRADERMACHER = [
    "Qwen2.5-7B.Q4_K_M.gguf",
    "Qwen2.5-7B.Q4_K_S.gguf",
    "Qwen2.5-7B.Q4_0_4_4.gguf",
    "Qwen2.5-7B.Q4_0.gguf",
    "Qwen2.5-7B.Q6_K.gguf.part1of2",
    ".gitattributes",
]


def rung(**kw: object) -> RungSpec:
    return RungSpec(label="r", params=1, repo="o/r", **kw)  # type: ignore[arg-type]


def test_pattern_matches_both_naming_styles_and_groups_shards() -> None:
    assert select_gguf_files(rung(pattern="Q4_K_M"), QWEN_OFFICIAL) == QWEN_OFFICIAL[:2]
    assert select_gguf_files(rung(pattern="q4_k_m"), MRADERMACHER) == ["Qwen2.5-7B.Q4_K_M.gguf"]
    assert select_gguf_files(rung(pattern="Q4_0"), MRADERMACHER) == ["Qwen2.5-7B.Q4_0.gguf"]
    assert select_gguf_files(rung(pattern="Q4_0"), QWEN_OFFICIAL) == [QWEN_OFFICIAL[2]]
    assert select_gguf_files(rung(pattern="*Q4_K_S"), MRADERMACHER) == ["Qwen2.5-7B.Q4_K_S.gguf"]
    shard2 = QWEN_OFFICIAL[1]
    assert select_gguf_files(rung(file=shard2), QWEN_OFFICIAL) == QWEN_OFFICIAL[:2]
    folder = ["Q8_0/m-Q8_0-00001-of-00002.gguf", "Q8_0/m-Q8_0-00002-of-00002.gguf", "m-Q4_K_M.gguf"]
    assert select_gguf_files(rung(pattern="Q8_0"), folder) == folder[:2]


def test_pattern_errors_list_candidates() -> None:
    with pytest.raises(
        LadderError,
        match="ambiguous, it matches 2 models: Qwen2.5-7B.Q4_0.gguf; Qwen2.5-7B.Q4_0_4_4",
    ):
        select_gguf_files(rung(pattern="*Q4_0*"), MRADERMACHER)
    with pytest.raises(
        LadderError, match="no .gguf file matches pattern 'Q5_K_M'; available: Qwen2.5-7B.Q4_0.gguf"
    ):
        select_gguf_files(rung(pattern="Q5_K_M"), MRADERMACHER)
    with pytest.raises(LadderError, match="split model is incomplete"):
        select_gguf_files(rung(pattern="Q8_0"), QWEN_OFFICIAL)
    with pytest.raises(LadderError, match="unsafe file name"):
        select_gguf_files(rung(pattern="Q8_0"), ["../../x-Q8_0.gguf"])
