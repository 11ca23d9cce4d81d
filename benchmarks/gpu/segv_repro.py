"""Reproduce, and narrow down, the segfault seen on the H100 with a synthetic 0.5B model.

    python3 benchmarks/gpu/segv_repro.py MODEL.gguf [--timeout 60]

docs/gpu.md reports that ``Llama(path, n_gpu_layers=-1, n_ctx=4096,
n_batch=2048, n_ubatch=512, flash_attn=False, verbose=False)`` followed by a
2048-token decode died with SIGSEGV twice on the H100, while the CPU build ran
it. Each variant below runs in its own child process under ``-X faulthandler``
with llama.cpp's log on, so a crash leaves the Python stack and the last log
lines behind; variants differ from the reported call in one setting each, and
the last ones run emergetui's own engine on the same model and batch sizes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

HIGH_LEVEL = """
import random, sys
from llama_cpp import Llama
kw = {kw}
llm = Llama({path!r}, **kw)
toks = [random.Random(0).randrange(3, llm.n_vocab()) for _ in range({n_tokens})]
llm.eval(toks)
import numpy as np
row = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
print(
    "decoded", llm.n_tokens, "tokens; last row finite:", bool(np.isfinite(row).all()),
    "argmax", int(row.argmax()),
)
"""

ENGINE = """
import random
from emergetui import Engine
from emergetui.engine.reference import logits_all
eng = Engine.load({path!r}, n_gpu_layers=-1, n_ctx=4096, n_batch=2048, **{kw})
rng = random.Random(0)
shared = [rng.randrange(3, eng.info.n_vocab) for _ in range(1500)]
reqs = [
    (
        shared + [rng.randrange(3, eng.info.n_vocab) for _ in range(40)],
        [rng.randrange(3, eng.info.n_vocab) for _ in range(5)],
    )
    for _ in range(64)
]
out = eng.score_tokens(reqs)
assert all(s.error is None for s in out), [s.error for s in out if s.error][:3]
one = logits_all(eng, reqs[0][0] + reqs[0][1][:-1])
print("engine: scored", len(out), "requests; cells", eng.native.cells, "; naive rows", one.shape)
"""

NOTES = dict(
    n_gpu_layers=-1, n_ctx=4096, n_batch=2048, n_ubatch=512, flash_attn=False, verbose=False
)
VARIANTS = [
    ("as reported (verbose=False)", HIGH_LEVEL, NOTES),
    ("verbose=True", HIGH_LEVEL, {**NOTES, "verbose": True}),
    ("verbose=True, flash_attn=True", HIGH_LEVEL, {**NOTES, "verbose": True, "flash_attn": True}),
    ("verbose=True, n_ubatch=256", HIGH_LEVEL, {**NOTES, "verbose": True, "n_ubatch": 256}),
    ("verbose=True, 512-token batch", HIGH_LEVEL, {**NOTES, "verbose": True, "n_batch": 512}),
    (
        "verbose=True, CPU only (n_gpu_layers=0)",
        HIGH_LEVEL,
        {**NOTES, "verbose": True, "n_gpu_layers": 0},
    ),
    ("emergetui Engine (flash attention auto)", ENGINE, {}),
    ("emergetui Engine (flash attention off)", ENGINE, {"flash_attn": False}),
]


def run_variant(name: str, template: str, kw: dict, path: str, timeout: int) -> dict:
    code = template.format(path=path, kw=repr(kw), n_tokens=2048)
    t0 = time.perf_counter()
    try:
        p = subprocess.run(
            [sys.executable, "-X", "faulthandler", "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = (
            "timeout",
            (e.stdout or b"").decode(errors="replace"),
            (e.stderr or b"").decode(errors="replace"),
        )
    tail = [ln for ln in err.splitlines() if ln.strip()][-25:]
    res = {
        "variant": name,
        "rc": rc,
        "seconds": round(time.perf_counter() - t0, 1),
        "stdout": out.strip()[-300:],
        "stderr_tail": tail,
    }
    status = "ok" if rc == 0 else f"FAILED rc={rc}" + (" (SIGSEGV)" if rc == -11 else "")
    print(f"--- {name}: {status} in {res['seconds']} s; {res['stdout']}", flush=True)
    if rc != 0:
        print("\n".join("    " + ln for ln in tail), flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("model")
    ap.add_argument("--timeout", type=int, default=60)
    ap.add_argument("--json", help="write all results (with log tails) here")
    args = ap.parse_args()
    results = []
    for name, template, kw in VARIANTS:
        results.append(run_variant(name, template, kw, args.model, args.timeout))
        if args.json:  # after each variant: a run cut short still leaves what it found
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
