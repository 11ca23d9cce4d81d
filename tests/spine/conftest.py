from __future__ import annotations

from pathlib import Path

import pytest

from emergetui.tasks.base import Item, ItemSet


@pytest.fixture()
def ladder_file(tmp_path: Path, tiny_model: Path, tiny_model_b: Path) -> Path:
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


def mc_and_gen_sets(n: int = 12) -> list[ItemSet]:
    mc = [
        Item(
            item_id=f"mc{i}",
            prompt=f"Q: {i}+1=\nA:",
            choices=(f" {i + 1}", f" {i + 2}", " the"),
            target_scores=(1.0, 0.0, 0.0),
        )
        for i in range(n)
    ]
    gen = [
        Item(
            item_id=f"g{i}",
            prompt=f"Q: {i}+{i}=\nA:",
            targets=(f" {2 * i}",),
            generate=True,
            stop=("\n",),
            max_tokens=4,
        )
        for i in range(n)
    ]
    return [
        ItemSet(
            task="mc",
            setting="shots=0",
            items=mc,
            metrics=("multiple_choice_grade",),
            preferred_metric="multiple_choice_grade",
        ),
        ItemSet(
            task="gen",
            setting="shots=0",
            items=gen,
            metrics=("exact_match",),
            preferred_metric="exact_match",
        ),
    ]
