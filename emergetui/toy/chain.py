"""The mirage task: spelling out a memorised chain, every letter one independent lookup.

A chain line is ``qxmhdaoctw``: two random letters, then eight letters each
fixed by the two before it through one random table ``T[x, y]`` that the
corpus never states, only uses. Knowing the chain is knowing the table, and
a model learns the table entry by entry: a small one has room for part of
it, a larger one for more. So per-letter accuracy is a smooth function of
size, while getting all eight letters right, about ``p ** 8`` for a
per-letter accuracy ``p``, stays near zero until ``p`` is high and then
rises steeply: the shape Schaeffer et al. (2023) call a mirage.

Why the table is built from permutations (``T[., y]`` is a permutation of
the alphabet for every ``y``): the step ``(x, y) -> (y, T[x, y])`` is then
invertible, so chains never merge into a few cycles, every pair of letters
is visited equally often, and the eight lookups of a test item are eight
draws from the whole table, not the same few popular entries.
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
    def make(cls, alphabet: str, seed: int) -> Chain:
        rng = np.random.default_rng([seed, 5])
        table: dict[tuple[str, str], str] = {}
        for y in alphabet:
            perm = rng.permutation(len(alphabet))
            for i, x in enumerate(alphabet):
                table[(x, y)] = alphabet[int(perm[i])]
        return cls(alphabet, table)

    def walk(self, start: str, n: int) -> str:
        """The ``n`` letters that follow the two letters of ``start``."""
        x, y = start
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
