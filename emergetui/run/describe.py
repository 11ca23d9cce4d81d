"""One human line per runner event: the words both front ends (batch log, lab log) use."""

from __future__ import annotations

from emergetui.fmt import fmt_bytes as _fmt_bytes
from emergetui.run import events as ev

# the metrics a finished task setting's line shows
_SHOWN = {
    "exact_match",
    "multiple_choice_grade",
    "logprob_correct",
    "prob_correct",
    "token_edit_distance",
}


def describe(event: ev.Event) -> str | None:
    """One human line per event, or None for events too frequent to print."""
    match event:
        case ev.RunStarted():
            extra = (
                f", resuming with {event.resumed_items} stored items" if event.resumed_items else ""
            )
            return (
                f"run {event.run_id}: ladder {event.ladder}, {len(event.rungs)} rungs, "
                f"{len(event.tasks)} task settings{extra}"
            )
        case ev.RungStarted():
            return (
                f"[{event.index + 1}/{event.n_rungs}] rung {event.rung} ({event.params:,} params)"
            )
        case ev.ModelLoaded():
            gpu = (
                "CPU"
                if event.n_gpu_layers == 0
                else f"{'all' if event.n_gpu_layers < 0 else event.n_gpu_layers} layers on GPU"
            )
            return (
                f"  loaded {event.rung} in {event.load_s:.1f}s "
                f"({_fmt_bytes(event.size_bytes)}, {gpu})"
            )
        case ev.TaskStarted():
            if event.n_done:
                return (
                    f"  {event.task} [{event.setting}]: "
                    f"{event.n_done}/{event.n_items} already stored"
                )
            return None
        case ev.TaskFinished():
            means = ", ".join(f"{k}={v:.3f}" for k, v in sorted(event.means.items()) if k in _SHOWN)
            return f"  {event.task} [{event.setting}] n={event.n}: {means}"
        case ev.ItemFailed():
            return f"  item {event.task}/{event.item_id} failed: {event.error}"
        case ev.HeldoutLoss():
            return (
                f"  held-out loss {event.loss:.4f} nats/token (ppl {event.ppl:.2f}, "
                f"{event.bpb:.3f} bits/byte, {event.n_tokens} tokens)"
            )
        case ev.RungFinished():
            return f"  rung {event.rung} done in {event.elapsed_s:.1f}s"
        case ev.RungFailed():
            return f"  rung {event.rung} FAILED: {event.error}"
        case ev.LogMessage():
            return f"{event.level}: {event.message}"
        case ev.RunFinished():
            state = "cancelled" if event.cancelled else "finished"
            return f"run {event.run_id} {state} in {event.elapsed_s:.1f}s"
        case ev.ProbeStarted():
            return (
                f"[probe {event.index + 1}/{event.n_rungs}] probing {event.rung}: per-layer "
                "states, logit lens and linear probes"
            )
        case ev.ProbeDone():
            return (
                f"  {event.rung}: {event.n_settings} task settings probed in {event.elapsed_s:.1f}s"
            )
        case ev.ProbeFailed():
            return f"  probe of {event.rung} failed: {event.error}"
    return None
