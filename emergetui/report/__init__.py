"""Reports of an :class:`~emergetui.analysis.Analysis`: Markdown, CSV, JSON, plots.

:func:`write_report` writes everything into one folder. Terminal plots
(plotext) are always written, as ``.txt``, because they need no optional
dependency; PNG/SVG figures only when matplotlib (the ``[plots]`` extra) is
importable, and the Markdown says so when it is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from emergetui.analysis.analyze import Analysis
from emergetui.analysis.export import augment_results, emergence_json
from emergetui.report import termplot
from emergetui.report.csvjson import write_csv, write_emergence_csv, write_json
from emergetui.report.markdown import render_markdown
from emergetui.report.paths import slug as _slug

if TYPE_CHECKING:
    from emergetui.report.bigbench import BigBenchSection
    from emergetui.store.results import Store
    from emergetui.store.stored_run import StoredRun

__all__ = [
    "augment_results",
    "emergence_json",
    "render_markdown",
    "write_report",
    "write_run_report",
]

KNOWN_FORMATS = ("md", "csv", "json", "png", "svg")


def write_text_plots(analysis: Analysis, out_dir: Path) -> dict[str, list[Path]]:
    """Every curve, mirage pair, loss view and ICL table as a plotext ``.txt``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {"scaling": [], "mirage": [], "loss": [], "icl": []}
    for curve in analysis.curves:
        path = out_dir / f"{_slug(curve.task, curve.setting, curve.metric)}.txt"
        path.write_text(termplot.scaling_plot(curve) + "\n", encoding="utf-8")
        written["scaling"].append(path)
    for m in analysis.mirage:
        if m.discrete_metric is None:
            continue
        discrete = analysis.curve(m.task, m.setting, m.discrete_metric)
        for metric in m.continuous:
            cont = analysis.curve(m.task, m.setting, metric)
            if discrete is None or cont is None:
                continue
            path = out_dir / f"{_slug(m.task, m.setting, 'mirage', metric)}.txt"
            path.write_text(termplot.mirage_plot(discrete, cont) + "\n", encoding="utf-8")
            written["mirage"].append(path)
    for x in analysis.loss_ability:
        scaling = analysis.curve(x.task, x.setting, x.metric)
        chance = scaling.chance if scaling is not None else None
        path = out_dir / f"{_slug(x.task, x.setting, x.metric, 'loss')}.txt"
        path.write_text(termplot.loss_plot(x, chance) + "\n", encoding="utf-8")
        written["loss"].append(path)
    for r in analysis.icl:
        path = out_dir / f"{_slug(r.task, r.family, r.metric, 'icl')}.txt"
        path.write_text(termplot.icl_plot(r) + "\n", encoding="utf-8")
        written["icl"].append(path)
    return written


def write_report(
    analysis: Analysis,
    out_dir: str | Path,
    formats: Sequence[str] = ("md", "csv", "json", "png"),
    *,
    title: str = "Emergence report",
    bigbench: BigBenchSection | None = None,
) -> list[Path]:
    """Write the report files into ``out_dir`` and return their paths.

    ``formats`` picks among ``md``, ``csv`` (points and per-curve emergence
    tables), ``json``, ``png`` and ``svg``. Terminal plots go to
    ``plots/*.txt`` whatever the formats; ``png``/``svg`` are skipped, with
    a note in the Markdown, when matplotlib is not installed. ``bigbench``
    (corpus-level metrics of the stored outputs) adds a Markdown section and
    ``bigbench.csv`` / ``bigbench.json``.
    """
    unknown = [f for f in formats if f not in KNOWN_FORMATS]
    if unknown:
        raise ValueError(f"unknown report format(s): {', '.join(unknown)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    notes: list[str] = []

    text_plots = write_text_plots(analysis, out / "plots")
    for paths in text_plots.values():
        written.extend(paths)
    links: dict[str, list[str]] = {
        f"terminal ({kind})": [p.relative_to(out).as_posix() for p in paths]
        for kind, paths in text_plots.items()
        if paths
    }

    figure_formats = [f for f in formats if f in ("png", "svg")]
    if figure_formats:
        from emergetui.report import png
        from emergetui.report.forecast_section import save_forecast_figures

        if png.matplotlib_available():
            figures = png.save_figures(analysis, out / "figures", figure_formats)
            figures += save_forecast_figures(analysis, out / "figures", figure_formats)
            written.extend(figures)
            links["figures"] = [p.relative_to(out).as_posix() for p in figures]
        else:
            notes.append(
                "matplotlib is not installed, so no PNG/SVG figures were written "
                "(pip install 'emergetui[plots]'); terminal plots are in plots/."
            )

    if "csv" in formats:
        written.append(write_csv(analysis, out / "points.csv"))
        written.append(write_emergence_csv(analysis, out / "emergence.csv"))
    if "json" in formats:
        written.append(write_json(analysis, out / "analysis.json"))
    from emergetui.report.forecast_section import forecast_markdown

    extra: list[str] = [forecast_markdown(analysis)]
    if bigbench is not None:
        from emergetui.report.bigbench import write_bigbench_csv, write_bigbench_json

        if "csv" in formats:
            written.append(write_bigbench_csv(bigbench, analysis, out / "bigbench.csv"))
        if "json" in formats:
            written.append(write_bigbench_json(bigbench, analysis, out / "bigbench.json"))
        extra.append(bigbench.markdown(analysis))
    if "md" in formats:
        path = out / "report.md"
        path.write_text(
            render_markdown(analysis, title=title, plots=links, notes=notes, extra=extra),
            encoding="utf-8",
        )
        written.append(path)
    return written


def write_run_report(
    store: Store,
    run_id: str,
    out_dir: str | Path,
    formats: Sequence[str] = ("md", "csv", "json", "png"),
    *,
    seed: int = 0,
    run: StoredRun | None = None,
    analysis: Analysis | None = None,
) -> list[Path]:
    """:func:`write_report` for a stored run (what ``emergetui report RUN`` does).

    ``run`` and ``analysis``, when the caller has them (the lab's results screen), are used
    as they are: the run is read and analysed once per command.
    """
    from emergetui.report.bigbench import BigBenchSection
    from emergetui.report.from_store import analyse_run
    from emergetui.store.stored_run import load_run

    if run is None:
        run = load_run(store, run_id)
    if analysis is None:
        analysis = analyse_run(run, seed=seed)
    written = write_report(
        analysis,
        out_dir,
        formats,
        title=f"Emergence report: run {run_id}",
        bigbench=BigBenchSection.from_run(run),
    )
    written += _probe_section(store, run, Path(out_dir))
    return written


def _probe_section(store: Store, run: StoredRun, out_dir: Path) -> list[Path]:
    """probes.md when the run was made with --probe (logit lens and linear probes per layer)."""
    from emergetui.probe.report import probe_report_markdown
    from emergetui.probe.store import behaviour_from_run, load_probe_results

    results = load_probe_results(store, run.run_id)
    if not results:
        return []
    path = out_dir / "probes.md"
    path.write_text(probe_report_markdown(results, behaviour_from_run(run)), encoding="utf-8")
    return [path]
