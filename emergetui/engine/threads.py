"""How many llama.cpp threads, and how they wait: so that a busy machine cannot stall them.

llama-cpp-python builds ggml with OpenMP. With more than one thread, every
node of a decode's graph ends in an OpenMP barrier, and GNU libgomp's default
is to spin there (and after each decode) for 300,000 iterations before it
sleeps. When other programs keep the cores busy, the thread being waited for is
often off its core while its partner spins, and the decode stalls for whole
scheduler time slices at every barrier. Measured with
``benchmarks/contention.py --threads 2`` (d = 256 model, 600 requests, 2 cores
shared with other work): the raw decode went from 6.5 s to 30 s and
``score()`` from 6.4 s to 34-73 s with two busy processes beside it
(``score()`` suffers more: twice as many decodes, and Python work between them
while the idle OpenMP thread spins). Gemma 3 270M (2 threads by default):
97-189 s per figure spinning against 26-32 s on the same loaded machine.

Two remedies, both measured:

* :class:`ThreadGovernor` uses fewer threads while the other processes leave
  fewer cores free (sampled from /proc/stat at most every 0.25 s): one thread
  has no barrier to wait at. With it, two and four busy processes slowed
  ``score()`` no more than the raw decode (which goes through the same path).
* ``GOMP_SPINCOUNT=30000`` bounds the spinning for the moments between two
  samples. Passive waiting (``OMP_WAIT_POLICY=PASSIVE``, no spinning) was
  robust too but cost 10-25% on an idle machine (every barrier wakes a
  sleeping thread); 30,000 spins measured the same as libgomp's default there
  (50M-parameter scoring benchmark, 2 threads: 2.33-2.37 s against 2.34-2.36 s).

libgomp reads its settings once, when it is loaded, i.e. when ``llama_cpp``
is first imported, so :func:`configure_openmp` runs before that (from
``emergetui.engine``'s ``__init__``). A wait policy or spin count the user
set (``OMP_WAIT_POLICY``, ``GOMP_SPINCOUNT``) is kept. The setting is
inherited by child processes, which is harmless: it only bounds how long idle
OpenMP threads spin.
"""

from __future__ import annotations

import logging
import os
import sys
import time

log = logging.getLogger(__name__)

SPIN_COUNT = "30000"
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
    """Bound libgomp's spinning unless the user chose; returns what was done, for the log.

    Too late when libgomp was loaded before emergetui (another library, or
    ``llama_cpp`` imported first): then it is logged and left alone.
    """
    chosen = [k for k in _USER_KEYS if k in os.environ]
    if chosen:
        return f"kept the user's {', '.join(f'{k}={os.environ[k]}' for k in chosen)}"
    if openmp_runtime_loaded():
        log.warning(
            "libgomp was loaded before emergetui: llama.cpp's threads keep spinning 300,000 "
            "times at each barrier, which stalls them on a busy machine "
            "(set GOMP_SPINCOUNT=30000 to avoid it)"
        )
        return "too late: libgomp already loaded"
    os.environ["GOMP_SPINCOUNT"] = SPIN_COUNT
    return f"GOMP_SPINCOUNT={SPIN_COUNT}"


OPENMP_SETUP = configure_openmp()


def _cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine since boot; None where /proc/stat is missing."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            vals = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = vals[3] + vals[4]
    return sum(vals) - idle, sum(vals)


def _own_jiffies() -> int:
    with open("/proc/self/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def threads_for(free_cores: float, max_threads: int) -> int:
    """Threads worth using when ``free_cores`` cores are left by the other processes.

    A thread without a core of its own stalls every barrier of the decode, so
    the count is rounded down (with a little slack for measuring noise).
    """
    return max(1, min(max_threads, int(free_cores + 0.25)))


class ThreadGovernor:
    """Chooses llama.cpp's thread count from how busy the other processes keep the CPUs.

    Sampled at most every ``period_s`` from /proc/stat (the whole machine)
    minus this process's own CPU time, so the measurement does not see our own
    threads. Linux only; elsewhere it always answers ``max_threads``.
    """

    def __init__(self, max_threads: int, period_s: float = 0.25) -> None:
        self.max_threads = max_threads
        self.period_s = period_s
        self.current = max_threads
        self.changes = 0
        self._cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        self._last: tuple[float, int, int, int] | None = None
        self._enabled = max_threads > 1 and _cpu_jiffies() is not None

    def others_busy(self) -> float | None:
        """Cores other processes used since the last call (None at first, or when too soon)."""
        now = time.monotonic()
        if self._last is not None and now - self._last[0] < self.period_s:
            return None
        sample = _cpu_jiffies()
        if sample is None:
            return None
        own = _own_jiffies()
        last, self._last = self._last, (now, sample[0], sample[1], own)
        if last is None or sample[1] <= last[2]:
            return None
        n_cpu = os.cpu_count() or 1
        return n_cpu * ((sample[0] - last[1]) - (own - last[3])) / (sample[1] - last[2])

    def pick(self) -> int:
        """The thread count for the next decode."""
        if not self._enabled:
            return self.max_threads
        busy = self.others_busy()
        if busy is not None:
            picked = threads_for(self._cpus - busy, self.max_threads)
            if picked != self.current:
                self.current = picked
                self.changes += 1
        return self.current
