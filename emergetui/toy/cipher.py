"""The in-context learning task: a letter code that exists only in the prompt.

A cipher line is ``CX AS FZ BT``: four letters from ``A``-``H``, each followed
by its code, a letter from ``S``-``Z``. The code is drawn afresh for every run
of cipher lines in the corpus (a "block"), and the lines of a block all use
it; blocks are always separated by another kind of line. So no code is ever
worth remembering: the only way to predict ``T`` after ``B`` is to find an
earlier ``B`` in the same block and copy the letter after it (the lookup
that induction heads do, Olsson et al. 2022). The four letters of a line
are distinct, so a line never answers its own question.

Codes are random functions (letters may share a code), so ruling out codes
already seen is no help: without an earlier occurrence of the letter the
answer is a guess.

The evaluation task is not drawn here: it is associative recall
(:mod:`emergetui.tasks.recall`) in this format, with a fresh random code for
every question, k example lines under it and then the question (a line
without its last code, ``CX AS FZ B`` -> ``T``), exactly like the first k + 1
lines of a training block. A fresh code per question makes the 0-shot answer
independent of everything in the prompt, so every model is at 1 in 8 without
examples. How much the shots can tell is known in advance: one line shows four
of the eight letters, so the fraction of questions whose letter occurs in the
shots is 1/2, 3/4, 15/16, 255/256 for 1, 2, 4, 8 shots, and a model that reads
the code perfectly scores 56%, 78%, 95%, 100%.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CIPHER_IN = "ABCDEFGH"
CIPHER_OUT = "STUVWXYZ"


@dataclass(frozen=True)
class Code:
    """A code from :data:`CIPHER_IN` to :data:`CIPHER_OUT`; ``images[i]`` codes ``CIPHER_IN[i]``."""

    images: str

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Code:
        """A training code: a random function."""
        idx = rng.integers(0, len(CIPHER_OUT), size=len(CIPHER_IN))
        return cls("".join(CIPHER_OUT[int(i)] for i in idx))

    @classmethod
    def draw_test(cls, rng: np.random.Generator) -> Code:
        """The test code: a random permutation."""
        return cls("".join(CIPHER_OUT[int(i)] for i in rng.permutation(len(CIPHER_OUT))))

    def of(self, letter: str) -> str:
        return self.images[CIPHER_IN.index(letter)]

    def line(self, letters: str) -> str:
        return " ".join(c + self.of(c) for c in letters)

    def question(self, letters: str) -> tuple[str, str]:
        """The line without its last code, and that code."""
        line = self.line(letters)
        return line[:-1], line[-1]


def draw_letters(rng: np.random.Generator, n: int) -> str:
    """``n`` distinct letters of :data:`CIPHER_IN`, in random order."""
    return "".join(CIPHER_IN[int(i)] for i in rng.permutation(len(CIPHER_IN))[:n])


def block(
    rng: np.random.Generator, n_pairs: int, n_lines: int, avoid: Code | None = None
) -> list[str]:
    """``n_lines`` lines under one fresh code (redrawn if it equals ``avoid``, the test code)."""
    code = Code.draw(rng)
    while avoid is not None and code == avoid:
        code = Code.draw(rng)
    return [code.line(draw_letters(rng, n_pairs)) for _ in range(n_lines)]


def is_cipher_line(line: str) -> bool:
    """A line of code pairs (``CX AS``), told apart from a chain line by its spaces."""
    return (
        len(line) >= 2 and line[0] in CIPHER_IN and line[1] in CIPHER_OUT and line[2:3] in ("", " ")
    )
