"""Probe results as text: layer × rung heat maps and a Markdown section.

The question the section answers, per task: from which rung on is the answer
linearly readable from some layer (probe above chance), from which rung on
does the model *say* it (behaviour above chance), and at what depth does the
answer first appear? A representation that appears at a smaller rung than the
behaviour is the "latent before emergent" pattern.

Rungs have different depths, so heat maps default to *relative* depth
(rows are fractions of each model's depth, the nearest layer is shown);
``depth="absolute"`` shows layer indices, with ``·`` where a rung has fewer layers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from emergetui.probe.result import ProbeResult

SHADES = " .:-=+*#%@"
MISSING = "·"
#: kinds whose values are fractions (fixed 0..1 colour scale, comparable across tasks)
UNIT_KINDS = frozenset({"probe_acc", "probe_shuffled", "lens_prob", "lens_top1", "lens_choice"})


def _shade(v: float, lo: float, hi: float) -> str:
    if not math.isfinite(v):
        return MISSING
    f = 0.0 if hi <= lo else (v - lo) / (hi - lo)
    return SHADES[int(np.clip(round(f * (len(SHADES) - 1)), 0, len(SHADES) - 1))]


def _select(results: Sequence[ProbeResult], task: str, setting: str | None) -> list[ProbeResult]:
    rs = [r for r in results if r.task == task and (setting is None or r.setting == setting)]
    if setting is None and rs:
        first = rs[0].setting
        rs = [r for r in rs if r.setting == first]
    return sorted(rs, key=lambda r: (r.params, r.rung))


def heatmap_text(
    results: Sequence[ProbeResult],
    task: str,
    kind: str = "probe_acc",
    *,
    setting: str | None = None,
    depth: str = "relative",
    rows: int = 12,
    cell: int = 3,
    vmin: float | None = None,
    vmax: float | None = None,
) -> str:
    """A plain-text heat map: layer rows (deepest on top) × rung columns (smallest left)."""
    rs = [r for r in _select(results, task, setting) if r.curves.get(kind)]
    if not rs:
        return f"(no {kind} results for {task})"
    curves = [np.asarray(r.curves[kind], dtype=np.float64) for r in rs]
    finite = np.concatenate([c[np.isfinite(c)] for c in curves]) if curves else np.array([])
    lo = (
        vmin
        if vmin is not None
        else (0.0 if kind in UNIT_KINDS else float(finite.min(initial=0.0)))
    )
    hi = (
        vmax
        if vmax is not None
        else (1.0 if kind in UNIT_KINDS else float(finite.max(initial=1.0)))
    )
    if depth == "absolute":
        n_rows = max(len(c) for c in curves)
        labels = [f"L{i:<3d}" for i in range(n_rows)]
        grid = [[c[i] if i < len(c) else float("nan") for c in curves] for i in range(n_rows)]
    else:
        n_rows = max(2, rows)
        fracs = np.linspace(0.0, 1.0, n_rows)
        labels = [f"{f:4.2f}" for f in fracs]
        grid = [[c[int(round(f * (len(c) - 1)))] for c in curves] for f in fracs]
    lines = [
        f"{kind} · {task} [{rs[0].setting}] · rows: "
        f"{'layer' if depth == 'absolute' else 'relative depth'}"
        f" (top = last layer) · columns: rungs by size"
    ]
    for label, row in zip(reversed(labels), reversed(grid)):
        lines.append(f"{label} |" + "".join(_shade(v, lo, hi) * cell for v in row))
    lines.append(" " * 5 + "+" + "-" * (cell * len(rs)))
    lines.append(" " * 6 + "".join(f"{i + 1:<{cell}d}"[:cell] for i in range(len(rs))))
    lines.append(f"scale: '{SHADES[0]}'={lo:.2f} … '{SHADES[-1]}'={hi:.2f}  ({SHADES!r})")
    lines.append("  ".join(f"{i + 1}={r.rung}" for i, r in enumerate(rs)))
    return "\n".join(lines)


def significant(value: float, chance: float, n: int, z: float = 2.0) -> bool:
    """Above chance by ``z`` binomial standard errors (chance floored at 1/n so 0 is not
    trivially beaten)."""
    if not (math.isfinite(value) and n > 0):
        return False
    p0 = min(max(chance, 1.0 / n), 1.0 - 1e-9)
    return value > p0 + z * math.sqrt(p0 * (1 - p0) / n)


@dataclass
class Onset:
    """Where the answer shows first: rung labels (``None`` = never) and, per rung, the probe's
    first depth."""

    probe: str | None
    behaviour: str | None
    first_depth: dict[str, float]


def onset(results: Sequence[ProbeResult], behaviour: Mapping[str, float] | None = None) -> Onset:
    """First rung (by size) whose best-layer probe / behaviour beats chance, and the probe's first
    such layer.

    ``behaviour`` optionally overrides the per-rung behaviour value (e.g. the
    stored task metric) by rung label; its chance level stays the result's.
    """
    rep: str | None = None
    beh: str | None = None
    depth: dict[str, float] = {}
    for r in sorted(results, key=lambda r: (r.params, r.rung)):
        acc = np.asarray(r.curves.get("probe_acc", []), dtype=np.float64)
        ctl = np.asarray(r.curves.get("probe_shuffled", []), dtype=np.float64)
        chance = r.scalars.get("probe_chance", float("nan"))
        if len(ctl) and np.isfinite(ctl).any():
            chance = max(
                chance, float(np.nanmean(ctl))
            )  # the control, when it is above the majority rate
        hits = [i for i, v in enumerate(acc) if significant(float(v), chance, r.n)]
        if hits:
            depth[r.rung] = hits[0] / max(1, len(acc) - 1)
            rep = rep or r.rung
        b = (behaviour or {}).get(r.rung, r.scalars.get("behaviour", float("nan")))
        if beh is None and significant(float(b), r.scalars.get("behaviour_chance", 0.0), r.n):
            beh = r.rung
    return Onset(rep, beh, depth)


def _fmt(v: float, pct: bool = True) -> str:
    if not math.isfinite(v):
        return "–"
    return f"{100 * v:.0f}%" if pct else f"{v:.3g}"


def probe_report_markdown(
    results: Sequence[ProbeResult],
    behaviour: Mapping[tuple[str, str, str], float] | None = None,
    kinds: Sequence[str] = ("probe_acc", "lens_prob"),
) -> str:
    """A Markdown section: per task and setting, a table of rungs, the onsets and heat maps.

    ``behaviour`` maps (rung, task, setting) to the behavioural score to compare
    with (e.g. the run's preferred metric); by default the first-token decision
    of the model's last layer is used.
    """
    out = ["## Inside the models: logit lens and linear probes", ""]
    if not results:
        return "\n".join(out + ["No probe results in this run (run with `--probe`).", ""])
    out += [
        "Hidden states are read at the token that decides the answer (see `emergetui.probe.run`). "
        "*Probe* = k-fold accuracy of a linear read-out of the answer from one layer "
        "(best layer shown); "
        "*lens* = the layer read through the final norm and output head. "
        "*Onset* = first rung whose value beats chance by 2 binomial standard errors.",
        "",
    ]
    keys = sorted({(r.task, r.setting) for r in results})
    for task, setting in keys:
        rs = _select(results, task, setting)
        beh = {
            r.rung: behaviour[(r.rung, task, setting)]
            for r in rs
            if behaviour and (r.rung, task, setting) in behaviour
        }
        on = onset(rs, beh)
        out += [f"### {task} [{setting}]", ""]
        out.append(
            "| rung | params | n | behaviour | chance | best probe (layer) | probe chance "
            "| shuffled | lens p(correct), last layer |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rs:
            layer, best = r.best("probe_acc")
            b = beh.get(r.rung, r.scalars.get("behaviour", float("nan")))
            ctl = np.asarray(r.curves.get("probe_shuffled", [np.nan]), dtype=np.float64)
            lens = r.curves.get("lens_prob", [float("nan")])
            b_chance = r.scalars.get("behaviour_chance", float("nan"))
            p_chance = r.scalars.get("probe_chance", float("nan"))
            shuffled = float(np.nanmean(ctl)) if np.isfinite(ctl).any() else float("nan")
            out.append(
                f"| {r.rung} | {r.params:,} | {r.n} | {_fmt(b)} | {_fmt(b_chance)}"
                f" | {_fmt(best)} ({layer}/{r.n_layer - 1}) | {_fmt(p_chance)}"
                f" | {_fmt(shuffled)} | {_fmt(lens[-1])} |"
            )
        out.append("")
        rep, bon = on.probe, on.behaviour
        order = [r.rung for r in rs]
        if rep and (bon is None or order.index(rep) < order.index(bon)):
            verdict = (
                f"the answer is linearly readable from rung **{rep}** on, before the behaviour"
                + (f" appears (rung **{bon}**)." if bon else " appears at any rung.")
            )
        elif rep and bon:
            verdict = (
                f"representation (rung **{rep}**) and behaviour (rung **{bon}**) "
                "appear together or behaviour first."
            )
        else:
            verdict = f"no rung's probe beats chance; behaviour onset: {bon or 'none'}."
        out += [f"Onset: {verdict}", ""]
        if on.first_depth:
            out += [
                "First layer where the probe beats chance (fraction of depth): "
                + ", ".join(f"{k} {v:.2f}" for k, v in on.first_depth.items()),
                "",
            ]
        for kind in kinds:
            out += ["```", heatmap_text(rs, task, kind, setting=setting), "```", ""]
    return "\n".join(out)
