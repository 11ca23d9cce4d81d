"""The live state folded from runner events: running means, intervals, settling, the metric
toggle."""

from __future__ import annotations

import math

import pytest
from tui_support import DEMO_ITEMS, DEMO_TASK, demo_download, demo_events, demo_values

from emergetui.run import events as ev
from emergetui.tui.live import LiveState, MetricChoice, Moments, SettledTask, order_metrics
from emergetui.tui.widgets.progress_panel import render_progress


def test_moments_mean_sd_and_normal_interval() -> None:
    m = Moments()
    m.add([1.0, 2.0, 3.0, float("nan"), float("-inf")])
    assert m.n == 3 and m.mean == pytest.approx(2.0) and m.sd == pytest.approx(1.0)
    lo, hi = m.interval(binary=False)
    assert lo == pytest.approx(2 - 1.96 / math.sqrt(3), abs=1e-3) and hi == pytest.approx(
        2 + 1.96 / math.sqrt(3), abs=1e-3
    )


def _binary(hits: int, n: int) -> Moments:
    m = Moments()
    m.add([1.0] * hits + [0.0] * (n - hits))
    return m


def test_wilson_stays_inside_0_1_and_narrows_with_n() -> None:
    lo0, hi0 = _binary(0, 4).interval(binary=True)
    assert lo0 == 0.0 and 0.4 < hi0 < 0.6  # 0/4 correct is not "certainly 0"
    lo1, hi1 = _binary(5, 10).interval(binary=True)
    lo2, hi2 = _binary(500, 1000).interval(binary=True)
    assert hi2 - lo2 < hi1 - lo1
    assert _binary(3, 3).interval(binary=True)[1] == 1.0


def test_running_point_then_settled_point() -> None:
    s = LiveState()
    events = demo_events(scoring_rung=3, scored=24)
    for e in events:
        s.apply(e)
    pts = s.curve(DEMO_TASK, "shots=0", "exact_match")
    assert [p.rung for p in pts] == ["70M", "160M", "410M", "1B"]
    assert [p.settled for p in pts] == [True, True, True, False]
    current = pts[-1]
    assert current.current and current.n == 24
    assert current.mean == pytest.approx(sum(demo_values(3, 0)["exact_match"][:24]) / 24)
    assert 0.0 <= current.ci_low <= current.mean <= current.ci_high <= 1.0
    # the scoring rung's interval narrows as more items arrive
    more = ev.ItemsDone(
        "1B",
        DEMO_TASK,
        "shots=0",
        40,
        DEMO_ITEMS,
        {"exact_match": tuple(demo_values(3, 0)["exact_match"][24:])},
    )
    width_before = current.ci_high - current.ci_low
    s.apply(more)
    after = s.curve(DEMO_TASK, "shots=0", "exact_match")[-1]
    assert after.n == 40 and after.ci_high - after.ci_low < width_before
    # settling replaces the running moments with the stored ones (no double counting)
    exact = Moments()
    exact.add(demo_values(3, 0)["exact_match"])
    s.apply(SettledTask("1B", DEMO_TASK, "shots=0", {"exact_match": exact}))
    settled = s.curve(DEMO_TASK, "shots=0", "exact_match")[-1]
    assert settled.settled and settled.n == 40 and settled.mean == pytest.approx(exact.mean)
    s.apply(ev.ItemsDone("1B", DEMO_TASK, "shots=0", 40, DEMO_ITEMS, {"exact_match": (1.0,)}))
    assert s.curve(DEMO_TASK, "shots=0", "exact_match")[-1].n == 40


def test_progress_statuses_and_log_lines() -> None:
    s = LiveState()
    lines = [s.apply(e) for e in demo_events(scoring_rung=3, scored=24)]
    assert s.run_id == "demo0emerge1" and s.current_rung == "1B"
    assert [r.status for r in s.rungs.values()] == [
        "done",
        "done",
        "done",
        "scoring",
        "pending",
        "pending",
    ]
    assert s.overall() == (3 * 2 * DEMO_ITEMS + 24, 4 * 2 * DEMO_ITEMS)
    assert any(line and "rung 70M" in line for line in lines)
    assert s.apply(ev.RungFailed("6.9B", "out of memory")) is not None
    assert s.rungs["6.9B"].status == "failed"
    s.apply(ev.RunFinished("demo0emerge1", 12.0, cancelled=True))
    assert s.finished is not None and s.finished.cancelled and s.current_rung is None


def test_download_progress_is_shown_with_bytes_speed_and_eta() -> None:
    s = LiveState()
    for e in demo_events(scoring_rung=1, scored=8):
        s.apply(e)
    s.apply(demo_download())
    text = render_progress(s, 60).plain
    assert "demo-6.9B-Q4_K_M.gguf" in text
    assert "1.2 GiB/4.1 GiB" in text and "45.8 MiB/s" in text and "ETA 1m05s" in text
    assert s.rungs["6.9B"].status == "downloading"


def test_metric_choice_toggles_discrete_and_cycles_continuous() -> None:
    avail = ["token_edit_distance", "exact_match", "prob_correct", "logprob_correct"]
    assert order_metrics(avail) == [
        "exact_match",
        "logprob_correct",
        "prob_correct",
        "token_edit_distance",
    ]
    c = MetricChoice()
    assert c.pick(avail) == "exact_match" and c.label == "discrete"
    c.toggle()
    assert c.pick(avail) == "logprob_correct" and c.label == "continuous"
    c.cycle()
    assert c.pick(avail) == "prob_correct"
    c.toggle()
    assert c.pick(avail) == "exact_match"
    assert (
        c.pick(["logprob_correct"]) == "logprob_correct"
    )  # no discrete metric: show what there is
    assert c.pick([]) is None
