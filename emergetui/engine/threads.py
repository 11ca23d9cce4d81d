"""How llama.cpp's CPU threads wait for each other: passively, so a busy machine cannot stall them.

llama-cpp-python builds ggml with OpenMP. With more than one thread, every
node of a decode's graph ends in an OpenMP barrier, and GNU libgomp's default
is to spin there (and after each decode) for 300,000 iterations before it
sleeps. When other programs keep the cores busy, the thread being waited for is
often off its core while its partner spins, and the decode stalls for whole
scheduler time slices at every barrier. Measured with
``benchmarks/contention.py --threads 2`` (d = 256 model, 600 requests, 2 cores
shared with other work): libgomp's default spin took the raw decode from 6.5 s
to 30 s and ``score()`` from 6.4 s to 34-73 s with two busy processes beside it
(``score()`` suffers more: twice as many decodes, and Python work between them
while the idle OpenMP thread spins); with ``OMP_WAIT_POLICY=PASSIVE`` (threads
sleep at once) 3.3 s and 3.7 s quiet, and no slowdown beyond the busy
processes' share. Gemma 3 270M (2 threads by default): 26-32 s per figure
passive, 97-189 s spinning, on the same loaded machine.

The price: on an idle machine a sleeping thread must be woken at every barrier.
On the 50M-parameter scoring benchmark with 2 threads that measured about 15%
(fastest runs 2.15 s against 1.85 s for the raw decode). A user on a dedicated
machine can ask for spinning back with ``OMP_WAIT_POLICY=ACTIVE`` or
``GOMP_SPINCOUNT``; one-thread runs (files under 64 MB) are unaffected.

libgomp reads its settings once, when it is loaded, i.e. when ``llama_cpp``
is first imported, so :func:`configure_openmp` runs before that (from
``emergetui.engine``'s ``__init__``). A wait policy or spin count the user
set (``OMP_WAIT_POLICY``, ``GOMP_SPINCOUNT``) is kept. The setting is
inherited by child processes, which is harmless: it only changes how idle
OpenMP threads wait.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)

WAIT_POLICY = "PASSIVE"
_USER_KEYS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def openmp_runtime_loaded() -> bool:
    """Whether GNU libgomp is already mapped into this process (Linux; False elsewhere)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            return "libgomp" in f.read()
    except OSError:
        return False


def configure_openmp() -> str:
    """Ask for passive OpenMP waiting unless the user chose; returns what was done, for the log.

    Too late when libgomp was loaded before emergetui (another library, or
    ``llama_cpp`` imported first): then it is logged and left alone.
    """
    chosen = [k for k in _USER_KEYS if k in os.environ]
    if chosen:
        return f"kept the user's {', '.join(f'{k}={os.environ[k]}' for k in chosen)}"
    if openmp_runtime_loaded():
        log.warning(
            "libgomp was loaded before emergetui: llama.cpp's threads keep spin-waiting, "
            "which stalls them on a busy machine (set OMP_WAIT_POLICY=PASSIVE to avoid it)"
        )
        return "too late: libgomp already loaded"
    os.environ["OMP_WAIT_POLICY"] = WAIT_POLICY
    return f"OMP_WAIT_POLICY={WAIT_POLICY}"


OPENMP_SETUP = configure_openmp()
