"""The toy ladder's synthetic corpus: plain text lines of addition and of facts, seeded.

An addition line is ``7430+5829=23690``: 347 + 9285 = 9632, every number written
least-significant digit first and zero-padded (4 digits per operand, 5 for the
sum). Both choices are there to make the ability learnable by small
transformers on a CPU budget: little-endian digits let each answer digit
depend only on two operand digits and the carry (which the model reads back
from the digit it has just written), and padding puts those digits at fixed
distances, which RoPE attention finds easily. A fact line is ``kqz=483``:
knowledge to memorise (see :class:`Facts`).

The split is decided before any training text is drawn: the task's test
questions and the held-out additions are generated first, and the training
stream rejects every problem that is in either of them, so the measured
ability is generalisation, never recall.

Nothing here imports torch: the package reads the task file and held-out text
at run time, and the test-suite regenerates them to check they are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from emergetui.models.gguf_writer import Vocab, byte_spm_vocab

#: SentencePiece's visible space: llama.cpp turns " " into this before lookup.
SPM_SPACE = "\u2581"
#: llama.cpp's SPM tokenizer has no "\n" piece here and falls back to this byte token.
NEWLINE_TOKEN = "<0x0A>"


@dataclass(frozen=True)
class Problem:
    a: int
    b: int
    digits: int

    @staticmethod
    def little_endian(n: int, width: int) -> str:
        return f"{n:0{width}d}"[::-1]

    @property
    def question(self) -> str:
        return (
            f"{self.little_endian(self.a, self.digits)}+{self.little_endian(self.b, self.digits)}"
        )

    @property
    def answer(self) -> str:
        """The sum, least-significant digit first, one digit wider than the operands."""
        return self.little_endian(self.a + self.b, self.digits + 1)

    @property
    def line(self) -> str:
        return f"{self.question}={self.answer}"


@dataclass(frozen=True)
class CorpusSpec:
    """What the corpus contains, seeded: sums of two numbers of ``min_digits`` to
    ``digits`` digits each, zero-padded to ``digits``; the task asks full-width ones."""

    seed: int = 0
    digits: int = 4
    min_digits: int = 1
    n_task: int = 200
    n_heldout: int = 400
    #: Knowledge lines ("kqz=483"): a fixed table of facts, drawn Zipf-distributed.
    n_facts: int = 1024
    fact_fraction: float = 0.25
    fact_zipf: float = 1.0


def _operand(rng: np.random.Generator, n_digits: int) -> int:
    return int(rng.integers(0 if n_digits == 1 else 10 ** (n_digits - 1), 10**n_digits))


def draw_problem(rng: np.random.Generator, spec: CorpusSpec) -> Problem:
    """Operands of independently drawn lengths, padded to the common width.

    Mixed lengths are what makes the ability learnable in a CPU budget: with
    two full-width random operands no single operand digit says anything
    about a sum digit (the sum is uniform given either one, a parity-like
    problem with no gradient to start from), whereas a short second operand
    leaves mostly zeros to add, so copying the first operand is a first step
    that pays off, and adding the second one builds on it.
    """
    da, db = (int(x) for x in rng.integers(spec.min_digits, spec.digits + 1, size=2))
    return Problem(_operand(rng, da), _operand(rng, db), spec.digits)


def draw_task_problem(rng: np.random.Generator, spec: CorpusSpec) -> Problem:
    """A test question: two operands of full width, the hardest case of the corpus."""
    return Problem(_operand(rng, spec.digits), _operand(rng, spec.digits), spec.digits)


def _unique(
    rng: np.random.Generator,
    n: int,
    draw: Callable[[np.random.Generator], Problem],
    exclude: set[Problem],
) -> list[Problem]:
    out: list[Problem] = []
    seen = set(exclude)
    while len(out) < n:
        p = draw(rng)
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


@dataclass(frozen=True, eq=False)
class Facts:
    """Knowledge to memorise: random three-letter keys with three-digit values.

    Why it is in the corpus: once addition is solved its loss sits at the
    entropy of the random operands, so without something that rewards
    capacity the held-out loss of the largest rungs would stop improving.
    Facts are that something, as in real text: a bigger model remembers more
    of them, and the Zipf law makes "how many" change smoothly with size.
    """

    keys: tuple[str, ...]
    values: tuple[str, ...]
    probs: np.ndarray

    @classmethod
    def make(cls, spec: CorpusSpec) -> Facts:
        rng = np.random.default_rng([spec.seed, 3])
        letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
        keys: list[str] = []
        seen: set[str] = set()
        while len(keys) < spec.n_facts:
            k = "".join(rng.choice(letters, size=3))
            if k not in seen:
                seen.add(k)
                keys.append(k)
        values = tuple(f"{int(v):03d}" for v in rng.integers(0, 1000, size=spec.n_facts))
        w = 1.0 / np.arange(1, spec.n_facts + 1) ** spec.fact_zipf
        return cls(tuple(keys), values, w / w.sum())

    def line(self, i: int) -> str:
        return f"{self.keys[i]}={self.values[i]}"

    def draw(self, rng: np.random.Generator) -> str:
        return self.line(int(rng.choice(len(self.keys), p=self.probs)))


@dataclass
class Split:
    """The evaluation problems, fixed by the seed before any training text exists."""

    spec: CorpusSpec
    task: list[Problem]
    heldout: list[Problem]
    facts: Facts
    heldout_facts: list[str] = field(default_factory=list)
    excluded: set[Problem] = field(default_factory=set)


def make_split(spec: CorpusSpec) -> Split:
    rng = np.random.default_rng([spec.seed, 1])
    task = _unique(rng, spec.n_task, lambda r: draw_task_problem(r, spec), set())
    heldout = _unique(rng, spec.n_heldout, lambda r: draw_problem(r, spec), set(task))
    facts = Facts.make(spec)
    n_facts = (
        round(spec.n_heldout * spec.fact_fraction / (1 - spec.fact_fraction)) if spec.n_facts else 0
    )
    heldout_facts = [facts.draw(rng) for _ in range(n_facts)]
    return Split(spec, task, heldout, facts, heldout_facts, set(task) | set(heldout))


def training_lines(split: Split, stream: int = 0) -> Iterator[str]:
    """An endless stream of training lines; ``stream`` picks an independent one."""
    rng = np.random.default_rng([split.spec.seed, 2, stream])
    while True:
        if split.spec.n_facts and rng.random() < split.spec.fact_fraction:
            yield split.facts.draw(rng)
            continue
        p = draw_problem(rng, split.spec)
        if p not in split.excluded:
            yield p.line


def heldout_lines(split: Split) -> list[str]:
    """Held-out additions with the held-out draws of facts spread evenly among them.

    The additions are unseen problems; the fact lines are, as facts are, the
    same table the model was trained on (knowledge is tested by recall).
    """
    lines = [p.line for p in split.heldout]
    n = len(split.heldout_facts)
    for j, f in enumerate(split.heldout_facts):
        lines.insert(round((j + 1) * len(lines) / (n + 1)), f)
    return lines


def heldout_text(split: Split) -> str:
    return "".join(line + "\n" for line in heldout_lines(split))


# ------------------------------------------------------------------ vocabulary


def toy_vocab() -> Vocab:
    """One token per printable ASCII character, byte tokens for everything else.

    The 256 byte tokens are not needed by the corpus; they are there so any
    text a user types tokenizes (llama.cpp aborts on a byte it cannot map).
    """
    return byte_spm_vocab(add_space_prefix=False)


@dataclass(frozen=True)
class CharTokenizer:
    """The trainer's tokenizer: the same ids llama.cpp's SPM tokenizer produces
    for this vocabulary (checked against llama.cpp in the tests)."""

    ids: dict[str, int]
    bos: int

    @classmethod
    def from_vocab(cls, vocab: Vocab) -> CharTokenizer:
        ids = {t: i for i, t in enumerate(vocab.tokens)}
        table = {c: ids[c] for c in map(chr, range(33, 127))}
        table[" "] = ids[SPM_SPACE]
        table["\n"] = ids[NEWLINE_TOKEN]
        return cls(table, int(vocab.bos if vocab.bos is not None else 1))

    def encode(self, text: str, add_bos: bool = True) -> list[int]:
        body = [self.ids[c] for c in text]
        return [self.bos, *body] if add_bos else body


def pack_rows(
    lines: Iterable[str], tok: CharTokenizer, n_seq: int | None, seq_len: int
) -> np.ndarray:
    """Rows of ``seq_len + 1`` ids: BOS then whole lines, the last one cut at the row's end.

    Every row starts at a line boundary after BOS, exactly like a 0-shot
    prompt, and later lines follow a newline, exactly like few-shot prompts.
    ``n_seq=None`` packs until the lines run out (an unfinished row is dropped).
    """
    rows: list[list[int]] = []
    it = iter(lines)
    while n_seq is None or len(rows) < n_seq:
        row = [tok.bos]
        for line in it:
            row.extend(tok.encode(line + "\n", add_bos=False))
            if len(row) >= seq_len + 1:
                break
        if len(row) < seq_len + 1:
            break
        rows.append(row[: seq_len + 1])
    return np.array(rows, dtype=np.int64).reshape(len(rows), seq_len + 1)


def training_tokens(
    split: Split, tok: CharTokenizer, n_seq: int, seq_len: int, stream: int = 0
) -> np.ndarray:
    return pack_rows(training_lines(split, stream), tok, n_seq, seq_len)


def answer_mask(rows: np.ndarray, tok: CharTokenizer) -> np.ndarray:
    """For rows from :func:`pack_rows`: True where the *target* (``rows[:, 1:]``) is
    part of an answer, i.e. follows "=" up to and including the newline."""
    eq, nl = tok.ids["="], tok.ids["\n"]
    inputs = rows[:, :-1]
    mask = np.zeros(inputs.shape, dtype=bool)
    state = np.zeros(len(rows), dtype=bool)
    for t in range(inputs.shape[1]):
        state = np.where(inputs[:, t] == eq, True, np.where(inputs[:, t] == nl, False, state))
        mask[:, t] = state
    return mask
