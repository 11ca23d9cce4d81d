"""The mirage task: spelling out a memorised chain, every letter one independent lookup.

A chain line is ``lHJVWjBuwNtm``: two random letters, then ten letters each
fixed by the two before it through one random table ``T[x, y]`` that the
corpus never states, only uses. Knowing the chain is knowing the table, and
a model learns the table entry by entry: a small one has room for part of
it, a larger one for more. So per-letter accuracy is a smooth function of
size, while getting all ten letters right, about ``p ** 10`` for a
per-letter accuracy ``p``, stays near zero until ``p`` is high and then
rises steeply: the shape Schaeffer et al. (2023) call a mirage.

How the table is built, and why: every letter ``y`` has a usual successor
``B[y]`` (``B`` a permutation), and ``T[x, y] = B[y]`` for some of the
pairs, a random letter for the others (the exceptions, 85% of the pairs).
The usual successors can be learnt from the previous letter alone, by any
model; the exceptions need the letter before it too (an attention head) and
room to store them, so that knowledge grows with size from a floor of about
the usual successors instead of all at once: in a development run of a table
with no usual successors (every entry random), the models either found the
two-letter lookup or stayed at chance, a threshold rather than a gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Chain:
    """The hidden table over ``alphabet``: ``next[(x, y)]`` follows the letters ``x y``."""

    alphabet: str
    next: dict[tuple[str, str], str]

    @classmethod
    def make(cls, alphabet: str, seed: int, exceptions: float = 0.85) -> Chain:
        rng = np.random.default_rng([seed, 5])
        n = len(alphabet)
        usual = rng.permutation(n)
        table: dict[tuple[str, str], str] = {}
        for j, y in enumerate(alphabet):
            for x in alphabet:
                odd = rng.random() < exceptions
                k = int(rng.integers(0, n)) if odd else int(usual[j])
                table[(x, y)] = alphabet[k]
        return cls(alphabet, table)

    def walk(self, start: str, n: int) -> str:
        """The ``n`` letters that follow the two letters of ``start``."""
        x, y = start[0], start[1]
        out = []
        for _ in range(n):
            x, y = y, self.next[(x, y)]
            out.append(y)
        return "".join(out)

    def draw_start(self, rng: np.random.Generator) -> str:
        i, j = rng.integers(0, len(self.alphabet), size=2)
        return self.alphabet[int(i)] + self.alphabet[int(j)]

    def line(self, start: str, n: int) -> str:
        return start + self.walk(start, n)
