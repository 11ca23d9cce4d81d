"""The run's progress as text: rungs, the current rung's task settings, downloads."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from emergetui.fmt import bar, fmt_bytes, fmt_duration, gpu_layers_text
from emergetui.tui.live import LiveState

_STATUS_STYLE = {
    "pending": "dim",
    "downloading": "yellow",
    "loading": "yellow",
    "scoring": "bold cyan",
    "done": "green",
    "failed": "bold red",
}


def render_progress(state: LiveState, width: int = 40) -> Text:
    """Plain rich Text (no widgets) so the same view can be unit-tested and captured."""
    w = max(10, width - 22)
    out = Text()
    if not state.run_id:
        out.append("preparing the experiment...\n", style="dim")
        return out
    done, total = state.overall()
    out.append(f"run {state.run_id} · {state.ladder}\n", style="bold")
    frac = done / total if total else 0.0
    out.append(f"items {bar(frac, w)} {done}/{total}\n")
    if state.resumed_items:
        out.append(f"resumed with {state.resumed_items} stored items\n", style="dim")
    lw = max((len(r) for r in state.rungs), default=4)
    for r in state.rungs.values():
        out.append(f"{'▶' if r.label == state.current_rung else ' '} {r.label:<{lw}}", style="bold")
        out.append(f" {r.status:<9}", style=_STATUS_STYLE.get(r.status, ""))
        extra = []
        if r.n_gpu_layers is not None:
            extra.append("CPU" if r.n_gpu_layers == 0 else f"GPU {gpu_layers_text(r.n_gpu_layers)}")
        if r.heldout_loss is not None:
            extra.append(f"loss {r.heldout_loss:.2f}")
        if r.elapsed_s is not None:
            extra.append(fmt_duration(r.elapsed_s))
        out.append(" ".join(extra) + "\n", style="dim")
        if r.error:
            out.append(f"    {r.error[: width * 2]}\n", style="red")
    focus = state.current_rung or _last_rung(state)
    for p in state.progress.values():
        if p.rung != focus:
            continue
        out.append(f" {p.task} [{p.setting}]\n")
        rate = f" {p.items_per_s:.1f} it/s {p.tokens_per_s:.0f} tok/s" if p.items_per_s else ""
        rate += f" {p.n_errors} err" if p.n_errors else ""
        counts = f" {p.n_done}/{p.n_total}"
        bw = max(6, width - 5 - len(counts) - len(rate))
        out.append(
            f"   {bar(p.fraction, min(bw, w))}{counts}", style="green" if p.finished else "cyan"
        )
        out.append(rate + "\n", style="dim")
    for d in state.downloads.values():
        frac = d.downloaded / d.total if d.total else 0.0
        out.append(f" ↓ {d.file[-(width - 4) :]}\n", style="yellow")
        out.append(f"   {bar(frac, w)} {fmt_bytes(d.downloaded)}/{fmt_bytes(d.total)}\n")
        out.append(
            f"   {fmt_bytes(d.speed_bps)}/s  ETA {fmt_duration(d.eta_s)}  "
            f"file {d.files_done + 1}/{d.files_total}\n",
            style="dim",
        )
    if state.finished is not None:
        f = state.finished
        what = "cancelled (resumable: press r)" if f.cancelled else "finished"
        out.append(
            f"run {what} in {fmt_duration(f.elapsed_s)}\n",
            style="yellow" if f.cancelled else "green",
        )
    return out


def _last_rung(state: LiveState) -> str | None:
    labels = [k[0] for k in state.progress]
    return labels[-1] if labels else None


class ProgressPanel(Static):
    """Re-rendered from the :class:`LiveState` by the run screen, at most a few times a second.

    A layout pass repaints the whole screen, the live curve included (plotext
    rebuilds its figure on every paint), so it is asked for only when the
    panel's height may change; an unchanged text is not repainted at all.
    """

    DEFAULT_CSS = """
    ProgressPanel { padding: 0 1; }
    """

    _shown: tuple[Text, tuple[int, ...]] | None = None

    def show(self, state: LiveState) -> None:
        width = self.size.width or 40
        text = render_progress(state, width)
        # lines and how many rows each wraps to: the panel's height
        rows = tuple(max(0, len(line) - 1) // width for line in text.plain.split("\n"))
        if self._shown is not None and self._shown[0] == text:
            return
        layout = self._shown is None or self._shown[1] != rows
        self._shown = (text, rows)
        self.update(text, layout=layout)
