"""The lab's results screen: the x key redraws the curve against compute, then held-out loss."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))

from tui_support import demo_app, make_demo_store, run, show_results  # noqa: E402

from emergetui.tui.capture import screen_text  # noqa: E402


def test_x_key_cycles_the_axis(tmp_path: Path) -> None:
    make_demo_store(tmp_path / "demo.sqlite")
    app = demo_app(tmp_path / "demo.sqlite")
    texts: dict[str, str] = {}

    async def body() -> None:
        async with app.run_test(size=(100, 34)) as pilot:
            await show_results(pilot, "2")
            screen: Any = app.screen
            texts["params"] = screen_text(app)
            for axis in ("flops", "loss", "params"):
                await pilot.press("x")
                await pilot.pause(0.3)
                assert screen.axis == axis
                texts[axis] = screen_text(app)

    run(body())
    # the demo ladder is not in models.toml: no training tokens, so no compute axis
    assert "no series has values on the flops axis" in texts["flops"]
    assert "bits/byte" in texts["loss"]
    assert "params (log)" in texts["params"]
