"""`emergetui compare RUN [RUN...]`: stored runs of several ladders on one chart.

A RUN is a run id (or unique prefix, or ``last``) in ``--store``, or
``STORE.db:RUN`` for a run in another store, so stores from several machines
compare as they are or after ``emergetui merge``.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from emergetui.errors import CliError

#: ``analysis.axes.AXES``, spelled here so that building the parser imports no analysis
AXIS_CHOICES = ("params", "flops", "loss")

if TYPE_CHECKING:
    from emergetui.analysis.compare import Comparison
    from emergetui.analysis.series import Series
    from emergetui.store.results import Store


def _split(ref: str) -> tuple[Path | None, str]:
    path, sep, run = ref.rpartition(":")
    if sep and path and Path(path).is_file():
        return Path(path), run
    return None, ref


def non_embedding_counts(store: Store, run_id: str) -> dict[str, int]:
    """Non-embedding parameters of each rung whose GGUF is on this machine."""
    from emergetui.models.gguf_info import GGUFInfoError
    from emergetui.models.param_count import param_count

    out: dict[str, int] = {}
    for g in store.rungs(run_id):
        if g.path and Path(g.path).is_file():
            try:
                out[g.label] = param_count(g.path).non_embedding
            except GGUFInfoError:
                continue
    return out


def load_series(
    refs: list[str], store_path: Path | None, *, seed: int, ladders: list[Path]
) -> tuple[list[Series], list[str]]:
    from emergetui.report.compare import series_from_store
    from emergetui.store.results import Store

    series: list[Series] = []
    notes: list[str] = []
    with ExitStack() as stack:
        stores: dict[Path | None, Store] = {}
        for ref in refs:
            path, run = _split(ref)
            path = path or store_path
            if path not in stores:
                if path is not None and not path.exists():
                    raise CliError(f"{path}: no such results store")
                stores[path] = stack.enter_context(Store(path))
            st = stores[path]
            rid = st.resolve_run(run)
            s, n = series_from_store(
                st,
                rid,
                seed=seed,
                extra_ladders=ladders,
                non_embedding=non_embedding_counts(st, rid),
            )
            series.append(s)
            notes += n
    return series, notes


def emit(
    cmp: Comparison, notes: list[str], *, json_mode: bool, plots: bool, out: Path | None
) -> None:
    from emergetui.report.compare import comparison_text, save_overlay_figures
    from emergetui.report.png import matplotlib_available

    text = comparison_text(cmp, plots=plots, notes=notes)
    doc = cmp.to_dict() | {"notes": [*notes, *cmp.notes]}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"comparison-{cmp.axis}.json").write_text(json.dumps(doc, indent=2, allow_nan=False))
        (out / f"comparison-{cmp.axis}.txt").write_text(
            comparison_text(cmp, plots=True, notes=notes)
        )
        if matplotlib_available():
            figs = save_overlay_figures(cmp, out)
            print(f"emergetui: wrote {len(figs)} figures to {out}", file=sys.stderr)
        else:
            print("emergetui: matplotlib is not installed: no PNG/SVG figures", file=sys.stderr)
    if json_mode:
        json.dump(doc, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text)


def axis_comparison(
    store: Store, run_id: str, axis: str, seed: int = 0
) -> tuple[Comparison, list[str]]:
    """One run's curves on ``axis`` (``--batch --x``, ``report --x``)."""
    from emergetui.analysis.compare import compare
    from emergetui.report.compare import series_from_store

    nonemb = non_embedding_counts(store, run_id)
    s, notes = series_from_store(store, run_id, seed=seed, non_embedding=nonemb)
    return compare([s], axis, seed=seed), notes


def write_axis_report(store: Store, run_id: str, out: Path, axis: str) -> list[Path]:
    """``emergetui report RUN --x AXIS``: the run's curves on another axis, as text, JSON and
    (with matplotlib) PNG/SVG, beside the usual report."""
    from emergetui.report.compare import comparison_text, save_overlay_figures
    from emergetui.report.png import matplotlib_available

    cmp, notes = axis_comparison(store, run_id, axis)
    out.mkdir(parents=True, exist_ok=True)
    text, data = out / f"axis-{axis}.txt", out / f"axis-{axis}.json"
    text.write_text(comparison_text(cmp, notes=notes), encoding="utf-8")
    doc = cmp.to_dict() | {"notes": [*notes, *cmp.notes]}
    data.write_text(json.dumps(doc, indent=2, allow_nan=False), encoding="utf-8")
    figs = save_overlay_figures(cmp, out) if matplotlib_available() else []
    return [text, data, *figs]


def cmd_compare(args: argparse.Namespace) -> int:
    from emergetui.analysis.compare import compare

    series, notes = load_series(args.runs, args.store, seed=args.seed, ladders=args.ladder)
    cmp = compare(series, args.x, seed=args.seed)
    emit(cmp, notes, json_mode=args.json, plots=not args.no_plot, out=args.out)
    return 0


__all__ = [
    "AXIS_CHOICES",
    "axis_comparison",
    "cmd_compare",
    "emit",
    "load_series",
    "non_embedding_counts",
    "write_axis_report",
]
