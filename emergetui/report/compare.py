"""A comparison of stored runs: series read back, the text, the terminal and PNG/SVG charts.

Each run is one series (one ladder at one quant and variant). What the store
does not hold about a ladder (family, variant, quant, training tokens) comes
from its definition in models.toml, looked up by the name the run stored, so a
store merged from several machines compares the same way; a ladder this
machine does not know is still drawn on the params and loss axes, with a note.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import plotext as plt

from emergetui.analysis.analyze import AnalysisConfig
from emergetui.analysis.axes import AXIS_LABELS, RungAxes, rung_axes
from emergetui.analysis.compare import Comparison, Overlay, PairedEffect
from emergetui.analysis.data import RungInfo
from emergetui.analysis.series import Series, SeriesKey
from emergetui.errors import EmergetuiError
from emergetui.models.ladders import Ladder, get_ladder, parse_ladder_file
from emergetui.report.from_store import analyse_run
from emergetui.report.overlay import SERIES_COLORS, draw_overlay
from emergetui.report.paths import slug

if TYPE_CHECKING:
    from emergetui.store.results import Store
    from emergetui.store.rows import StoredRung


def _ladder(name: str, extra_files: Sequence[Path]) -> Ladder | None:
    for f in extra_files:  # a ladder file names its ladders; a run stores the name
        try:
            found = parse_ladder_file(f)
        except EmergetuiError:
            continue
        if name in found:
            return found[name]
    try:
        return get_ladder(name, extra_files)
    except EmergetuiError:
        return None


def series_from_store(
    store: Store,
    run_id: str,
    *,
    seed: int = 0,
    ladder: Ladder | None = None,
    extra_ladders: Sequence[Path] = (),
    non_embedding: Mapping[str, int] | None = None,
    config: AnalysisConfig | None = None,
) -> tuple[Series, list[str]]:
    """One stored run as a series, and notes on what its ladder definition could not give.

    ``ladder``: the definition the run was made from, when the caller has it (a batch
    run); otherwise it is looked up by the stored name (and in ``extra_ladders``).
    """
    name = str(store.run_config(run_id).get("ladder") or run_id)
    key, rungs, notes = series_axes(name, store.rungs(run_id), ladder, extra_ladders, non_embedding)
    from emergetui.store.stored_run import load_run

    run = load_run(store, run_id)
    analysis = analyse_run(run, seed=seed, config=config)
    return Series(key, run_id, analysis, rungs, run.preferred), notes


def series_axes(
    name: str,
    stored: Sequence[StoredRung],
    ladder: Ladder | None = None,
    extra_ladders: Sequence[Path] = (),
    non_embedding: Mapping[str, int] | None = None,
) -> tuple[SeriesKey, list[RungAxes], list[str]]:
    """A stored ladder's series key and its rungs' positions on every axis (failed rungs out)."""
    if ladder is None or ladder.name != name:
        ladder = _ladder(name, extra_ladders)
    notes: list[str] = []
    if ladder is None:
        notes.append(
            f"{name}: ladder not defined on this machine (pass its file with --ladder): "
            "no family, variant or train_tokens"
        )
        base, _, quant = name.partition("@")
        key = SeriesKey(name, base, None, quant or None)
    else:
        key = SeriesKey(name, ladder.family_name, ladder.variant, ladder.quant)
    tokens = {r.label: r.train_tokens for r in ladder.rungs} if ladder else {}
    ne = non_embedding or {}
    rungs = [
        rung_axes(RungInfo(g.label, g.params, g.heldout), tokens.get(g.label), ne.get(g.label))
        for g in stored
        if g.status != "failed"
    ]
    return key, rungs, notes


#: what makes two stored runs "the same experiment on another ladder"
_SAME_EXPERIMENT = ("tasks", "task_specs", "suites", "seed", "limit", "shots")


def sibling_runs(store: Store, run_id: str) -> list[str]:
    """Runs of the same tasks, seed and limits on other ladders (newest per ladder): what a
    ``--batch --ladder a --ladder b`` run stored, so the lab can overlay them."""
    mine = store.run_config(run_id)
    want = {k: mine.get(k) for k in _SAME_EXPERIMENT}
    out: dict[str, str] = {}
    for r in sorted(store.runs(), key=lambda r: r.created):
        if r.run_id == run_id or r.ladder == mine.get("ladder"):
            continue
        if {k: r.config.get(k) for k in _SAME_EXPERIMENT} == want:
            out[r.ladder] = r.run_id
    return list(out.values())


def overlay_plot(overlay: Overlay, *, width: int = 80, height: int = 20) -> str:
    """The overlay as uncoloured terminal text."""
    plt.clear_figure()
    plt.limitsize(False, False)  # the caller's size, not the terminal's
    plt.plotsize(width, height)
    draw_overlay(plt, overlay)
    plt.limitsize(False, False)
    plt.plotsize(width, height)
    text = plt.build()
    plt.clear_figure()
    return str(plt.uncolorize(text))


def _x_text(axis: str, x: float) -> str:
    return f"{x:.3f}" if axis == "loss" else f"10^{x:.2f}"


def _wrap(text: str, width: int, indent: str) -> list[str]:
    return textwrap.wrap(
        text, width, initial_indent=indent, subsequent_indent=indent + "  ", break_on_hyphens=False
    )


def _effect_lines(e: PairedEffect, width: int) -> list[str]:
    what = "quantization effect" if e.kind == "quant" else "instruct vs base"
    out = _wrap(f"{what} on {e.metric}: {e.b} minus {e.a}, paired over items, 95%", width, "  ")
    for r in e.rows:
        row = (
            f"{r.rung}: {r.diff:+.3g} [{r.ci_low:+.3g}, {r.ci_high:+.3g}],"
            f" {r.changed}/{r.n} items differ"
        )
        out += _wrap(row, width, "    ")
    return out


def series_lines(series: Sequence[Series], width: int = 80) -> list[str]:
    """Per series: family, variant, quant, run; per rung its place on each axis."""
    lines = []
    for s in series:
        what = ", ".join(v for v in (s.key.family, s.key.variant, s.key.quant) if v)
        lines.append(f"  {s.name}: {what}, run {s.run_id}")
        for r in s.rungs:
            parts = [f"{r.label}: 10^{math.log10(max(r.params, 1)):.2f} params"]
            if r.non_embedding:
                parts.append(f"{r.non_embedding:,} non-embedding")
            parts.append(f"C 10^{math.log10(r.flops):.2f}" if r.flops else "C ?")
            if r.bits_per_byte is not None:
                parts.append(f"{r.bits_per_byte:.3f} bits/byte")
            lines += _wrap(" · ".join(parts), width, "    ")
    return lines


def _cross_lines(o: Overlay, width: int) -> list[str]:
    out = _wrap(f"cross-family: {o.cross.summary}", width, "  ")
    if o.cross.agree is None:
        return out
    for c in o.curves:
        if c.midpoint is not None and c.midpoint_ci is not None:
            lo, hi = c.midpoint_ci
            out.append(f"    {c.series}: {c.midpoint:.2f} [{lo:.2f}, {hi:.2f}]")
    return out


def comparison_text(
    cmp: Comparison, *, plots: bool = True, width: int = 80, notes: Sequence[str] = ()
) -> str:
    """Series, then per task: the chart, each series' points and verdict, the cross-family
    line and the paired effects."""
    out = [
        f"Comparing {len(cmp.series)} series on {AXIS_LABELS[cmp.axis]}",
        *series_lines(cmp.series, width),
    ]
    for n in (*notes, *cmp.notes):
        out += _wrap(f"note: {n}", width, "")
    for o in cmp.overlays:
        out.append("")
        out.append(f"{o.task} [{o.setting}] {o.metric}")
        if plots:
            out.append(overlay_plot(o, width=width))
        for c in o.curves:
            pts = (
                ", ".join(f"{p.rung} {p.mean:.3f}@{_x_text(o.axis, p.x)}" for p in c.points)
                or "no points on this axis"
            )
            out += _wrap(f"{c.series}: {c.verdict}; {pts}", width, "  ")
        out += _cross_lines(o, width)
        for n in o.notes:
            out += _wrap(f"note: {n}", width, "  ")
        for e in cmp.effects:
            if (e.task, e.setting) == (o.task, o.setting):
                out += _effect_lines(e, width)
    return "\n".join(out) + "\n"


def save_overlay_figures(
    cmp: Comparison, out_dir: str | Path, formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """One PNG/SVG per shared task: every series with a shaded 95% band.

    Raises ``ImportError`` without matplotlib (check ``png.matplotlib_available`` first).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for o in cmp.overlays:
        fig = Figure(figsize=(6.4, 4.2), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        for i, c in enumerate(o.curves):
            if not c.points:
                continue
            xs = [p.x for p in c.points]
            color = f"C{i % 10}"
            ax.fill_between(
                xs,
                [p.ci_low for p in c.points],
                [p.ci_high for p in c.points],
                alpha=0.2,
                color=color,
            )
            ax.plot(
                xs,
                [p.mean for p in c.points],
                marker="o",
                color=color,
                label=f"{c.series}: {c.verdict}",
            )
        if o.chance is not None:
            ax.axhline(o.chance, linestyle="--", color="gray", linewidth=1)
        if o.axis == "loss":
            ax.invert_xaxis()
        ax.set_xlabel(AXIS_LABELS[o.axis], fontsize=8)
        ax.set_ylabel(o.metric, fontsize=8)
        ax.set_title(f"{o.task} / {o.setting}", fontsize=10)
        ax.legend(fontsize=7)
        for fmt in formats:
            path = out / f"{slug(o.task, o.setting, 'compare', o.axis)}.{fmt}"
            fig.savefig(path, format=fmt, dpi=120)
            written.append(path)
    return written


__all__ = [
    "SERIES_COLORS",
    "comparison_text",
    "overlay_plot",
    "save_overlay_figures",
    "series_axes",
    "sibling_runs",
    "series_from_store",
    "series_lines",
]
