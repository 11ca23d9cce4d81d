"""Publication-style figures (PNG/SVG) through matplotlib, when it is installed.

matplotlib is the optional ``[plots]`` extra: the terminal plots cover every
curve without it, so nothing here may be imported at module level. Figures
are built with the object API (``Figure`` + Agg canvas), never ``pyplot``,
so no global figure state or GUI backend is touched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emergetui.analysis.analyze import Analysis
from emergetui.analysis.curves import Curve
from emergetui.fmt import fmt_params
from emergetui.report.paths import slug as _slug


def matplotlib_available() -> bool:
    """Whether the optional matplotlib can be imported (not merely found)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(n_panels: int) -> tuple[Any, list[Any]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cols = min(3, n_panels)
    rows = math.ceil(n_panels / cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n_panels)]
    return fig, axes


def draw_curve(ax: Any, curve: Curve, verdict: str | None = None) -> None:
    """Mean with a shaded 95% CI band on a log-parameter axis, chance dashed."""
    x = [p.params for p in curve.points]
    ax.fill_between(
        x, [p.ci_low for p in curve.points], [p.ci_high for p in curve.points], alpha=0.25
    )
    ax.plot(x, [p.mean for p in curve.points], marker="o")
    if curve.chance is not None:
        ax.axhline(curve.chance, linestyle="--", color="gray", linewidth=1)
    ax.set_xscale("log")
    ax.set_xticks(x, [fmt_params(v) for v in x], rotation=45, fontsize=7)
    ax.minorticks_off()
    ax.set_title(f"{curve.metric}" + (f" — {verdict}" if verdict else ""), fontsize=9)
    ax.set_xlabel("parameters", fontsize=8)


def save_figures(
    analysis: Analysis, out_dir: str | Path, formats: Sequence[str] = ("png",)
) -> list[Path]:
    """One figure per task/setting (a panel per metric), one per loss view.

    Discrete and continuous metrics of the same outputs sit side by side, so
    the figure is also the mirage test's picture. Raises ``ImportError``
    when matplotlib is missing; check :func:`matplotlib_available` first.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    groups: dict[tuple[str, str], list[Curve]] = {}
    for c in analysis.curves:
        groups.setdefault((c.task, c.setting), []).append(c)
    for (task, setting), curves in groups.items():
        curves = sorted(curves, key=lambda c: (not c.discrete, c.metric))
        fig, axes = _figure(len(curves))
        for ax, curve in zip(axes, curves, strict=True):
            s = analysis.scores_for(curve.key)
            draw_curve(ax, curve, s.verdict.label if s else None)
        mirage = analysis.mirage_for(task, setting)
        suffix = f" — mirage test: {mirage.outcome}" if mirage and mirage.outcome != "n/a" else ""
        fig.suptitle(f"{task} / {setting}{suffix}", fontsize=10)
        for fmt in formats:
            path = out / f"{_slug(task, setting)}.{fmt}"
            fig.savefig(path, format=fmt, dpi=120)
            written.append(path)
    loss_groups: dict[tuple[str, str], list] = {}
    for x in analysis.loss_ability:
        loss_groups.setdefault((x.task, x.setting), []).append(x)
    for (task, setting), results in loss_groups.items():
        fig, axes = _figure(len(results))
        for ax, r in zip(axes, results, strict=True):
            ax.fill_between(r.losses, r.ci_low, r.ci_high, alpha=0.25)
            ax.plot(r.losses, r.means, marker="o")
            scaling = analysis.curve(r.task, r.setting, r.metric)
            if scaling is not None and scaling.chance is not None:
                ax.axhline(scaling.chance, linestyle="--", color="gray", linewidth=1)
            if r.threshold is not None:
                ax.axvline(r.threshold, color="green", linewidth=1)
                if r.threshold_ci:
                    ax.axvspan(*r.threshold_ci, color="green", alpha=0.1)
            ax.invert_xaxis()
            ax.set_title(r.metric, fontsize=9)
            ax.set_xlabel("held-out loss (nats/token)", fontsize=8)
        fig.suptitle(f"{task} / {setting}: ability vs held-out loss", fontsize=10)
        for fmt in formats:
            path = out / f"{_slug(task, setting, 'loss')}.{fmt}"
            fig.savefig(path, format=fmt, dpi=120)
            written.append(path)
    return written
