"""The ladder keys comparisons need: family, variant, quant, train_tokens, and NAME@QUANT."""

from __future__ import annotations

from pathlib import Path

import pytest

from emergetui.models.ladders import LadderError, get_ladder, load_ladders, parse_ladder_file


def test_builtin_ladders_carry_what_comparisons_need() -> None:
    ladders = load_ladders(include_user=False)
    base, inst = ladders["qwen2.5-base"], ladders["qwen2.5-instruct"]
    assert (base.family_name, base.variant) == ("qwen2.5", "base")
    assert (inst.family_name, inst.variant) == ("qwen2.5", "instruct")
    assert [r.label for r in base.rungs] == [r.label for r in inst.rungs]
    smol = {r.label: r.train_tokens for r in ladders["smollm2"].rungs}
    assert smol == {"135M": 2 * 10**12, "360M": 4 * 10**12, "1.7B": 11 * 10**12}
    gemma = {r.label: r.train_tokens for r in ladders["gemma3"].rungs}
    assert gemma["270M"] == 6 * 10**12 and gemma["27B"] == 14 * 10**12
    for name in ("qwen3", "llama3.2", "qwen2.5-base"):
        assert all(r.train_tokens for r in ladders[name].rungs), name
    # the toy manifest states its own training tokens
    assert all(r.train_tokens == 6_144_000 for r in ladders["toy"].rungs)


def test_name_at_quant_is_the_same_ladder_at_another_quant() -> None:
    q = get_ladder("qwen3@Q4_K_M", include_user=False)
    assert q.name == "qwen3@Q4_K_M" and q.quant == "Q4_K_M" and q.family_name == "qwen3"
    assert {r.pattern for r in q.rungs} == {"Q4_K_M"}
    with pytest.raises(LadderError, match="name a file"):
        get_ladder("toy@Q8_0", include_user=False)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('variant = "chat"', "variant: must be one of base, instruct"),
        ("train_tokens = -3", "train_tokens: a positive integer"),
        ('train_tokens = "2T"', "train_tokens: a positive integer"),
        ('family = "a/b"', "family: letters"),
    ],
)
def test_bad_series_keys_name_file_and_key(tmp_path: Path, line: str, message: str) -> None:
    p = tmp_path / "l.toml"
    p.write_text(f'[ladders.x]\n{line}\nrungs = [{{ label = "a", params = 5, path = "a.gguf" }}]\n')
    with pytest.raises(LadderError, match=message) as exc:
        parse_ladder_file(p)
    assert str(p) in str(exc.value) and "ladders.x." in str(exc.value)


def test_rung_train_tokens_override_the_ladder_default(tmp_path: Path) -> None:
    p = tmp_path / "l.toml"
    p.write_text(
        '[ladders.x]\nquant = "F16"\ntrain_tokens = 100\nrungs = [\n'
        '{ label = "a", params = 5, path = "a.gguf" },\n'
        '{ label = "b", params = 9, path = "b.gguf", train_tokens = 7 }]\n'
    )
    x = parse_ladder_file(p)["x"]
    assert [r.train_tokens for r in x.rungs] == [100, 7]
    assert x.quant == "F16" and x.variant is None and x.family_name == "x"


def test_ladders_lists_family_variant_quant_and_tokens(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from emergetui.cli import main

    assert main(["ladders"]) == 0
    lines = capsys.readouterr().out.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("qwen2.5-base:"))
    assert lines[i + 1].split(" · ") == [
        "  family qwen2.5",
        "base",
        "Q4_K_M",
        "trained on 18T tokens",
    ]
    j = next(n for n, line in enumerate(lines) if line.startswith("smollm2:"))
    assert lines[j + 1].endswith("trained on 2T, 4T, 11T tokens")


def test_the_lab_refuses_several_ladders() -> None:
    from emergetui.cli import main

    assert main(["--ladder", "toy", "--ladder", "smollm2"]) == 2
