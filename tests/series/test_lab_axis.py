"""The lab's results screen: the x key redraws the curve against compute, then held-out loss."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))

from tui_support import (  # noqa: E402
    demo_app,
    make_demo_store,
    run,
    settled_text,
    show_results,
    wait_until,
)

# what each axis shows; the demo ladder is not in models.toml: no training tokens, so no
# compute axis
SHOWN = (
    ("flops", "no series has values on the flops axis"),
    ("loss", "bits/byte"),
    ("params", "params (log)"),
)


def test_x_key_cycles_the_axis(tmp_path: Path) -> None:
    make_demo_store(tmp_path / "demo.sqlite")
    app = demo_app(tmp_path / "demo.sqlite")
    texts: dict[str, str] = {}

    async def body() -> None:
        async with app.run_test(size=(100, 34)) as pilot:
            await show_results(pilot, "2")
            screen: Any = app.screen
            for axis, shown in SHOWN:
                await pilot.press("x")
                await wait_until(pilot, lambda a=axis: screen.axis == a)
                texts[axis] = await settled_text(pilot, [shown], timeout=20)

    run(body())
    for axis, shown in SHOWN:
        assert shown in texts[axis], texts[axis]
