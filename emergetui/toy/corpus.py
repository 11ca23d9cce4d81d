"""The toy ladder's synthetic corpus: addition, a memorised chain and a cipher, seeded.

Three kinds of line, each there for one phenomenon of the default demo:

* addition, ``7430+5829=23690``: 347 + 9285 = 9632, every number written
  least-significant digit first and zero-padded (4 digits per operand, 5 for
  the sum). Little-endian digits let each answer digit depend only on two
  operand digits and the carry, and padding puts those digits at fixed
  distances, which RoPE attention finds easily. Learnt after a plateau that
  small models do not leave: a real threshold.
* chain, ``lHJVWjBuwNtm`` (:mod:`emergetui.toy.chain`): ten letters, each one
  lookup in a memorised table; per-letter knowledge grows smoothly with size,
  all ten right looks sudden: a mirage.
* cipher blocks, ``CX AS FZ BT`` (:mod:`emergetui.toy.cipher`): a code that
  only the earlier lines of the same block reveal: in-context learning, which
  needs two attention layers (an induction head), so the one-layer rungs
  cannot learn it however wide they are.

The split is decided before any training text is drawn: the addition test
questions and the held-out additions are generated first, and the training
stream rejects every problem that is in either of them, so the measured
ability is generalisation, never recall; the cipher is tested with a fresh
code per question (:mod:`emergetui.tasks.recall`); the chain is knowledge and
is tested by recall.

Nothing here imports torch: the package reads the task files and held-out text
at run time, and the test-suite regenerates them to check they are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from emergetui.models.gguf_writer import Vocab, byte_spm_vocab
from emergetui.toy.chain import Chain
from emergetui.toy.cipher import Code, block, draw_letters, is_cipher_line

T = TypeVar("T")

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
    """What the corpus contains, seeded.

    Three kinds of text, drawn as "units": an addition line (sums of two
    numbers of ``min_digits`` to ``digits`` digits, zero-padded; the task asks
    full-width ones), a chain line (``chain_len`` letters after a random start,
    see :mod:`emergetui.toy.chain`) with probability ``p_chain``, or a block of
    ``block_min`` to ``block_max`` cipher lines under one fresh code (see
    :mod:`emergetui.toy.cipher`) with probability ``p_cipher``.
    """

    seed: int = 0
    digits: int = 4
    min_digits: int = 1
    n_task: int = 200
    n_heldout: int = 600
    chain_letters: int = 52
    chain_len: int = 10
    #: share of the chain table's letter pairs whose successor is random, not the usual one
    chain_exceptions: float = 0.85
    cipher_pairs: int = 4
    block_min: int = 2
    block_max: int = 10
    p_chain: float = 0.35
    p_cipher: float = 0.3

    @property
    def chain_alphabet(self) -> str:
        return ("abcdefghijklmnopqrstuvwxyz" + "abcdefghijklmnopqrstuvwxyz".upper())[
            : self.chain_letters
        ]


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
    rng: np.random.Generator, n: int, draw: Callable[[np.random.Generator], T], exclude: set[T]
) -> list[T]:
    out: list[T] = []
    seen = set(exclude)
    while len(out) < n:
        p = draw(rng)
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


@dataclass
class Split:
    """The evaluation material, fixed by the seed before any training text exists.

    ``task`` (addition) and ``chain_starts`` are two tasks' questions (the
    cipher's are drawn per question by :mod:`emergetui.tasks.recall`);
    ``cipher_code`` is one code training blocks never use and ``cipher_inputs``
    lines of letters under it (a first design's test set, still drawn so that
    the seed's streams, and so the held-out text, stay those of the shipped
    ladder); ``heldout`` is the held-out text's lines; ``excluded`` the
    additions training never shows.
    """

    spec: CorpusSpec
    task: list[Problem]
    heldout: list[str]
    chain: Chain
    chain_starts: list[str]
    cipher_code: Code
    cipher_inputs: list[str]
    excluded: set[Problem] = field(default_factory=set)


def _units(rng: np.random.Generator, split: Split, exclude: set[Problem]) -> Iterator[list[str]]:
    """Units of text (one line, or one cipher block), never two cipher blocks in a row."""
    spec = split.spec
    last_cipher = False
    while True:
        u = rng.random()
        if u < spec.p_cipher and not last_cipher:
            n = int(rng.integers(spec.block_min, spec.block_max + 1))
            last_cipher = True
            yield block(rng, spec.cipher_pairs, n, avoid=split.cipher_code)
            continue
        last_cipher = False
        if u < spec.p_cipher + spec.p_chain:
            yield [split.chain.line(split.chain.draw_start(rng), spec.chain_len)]
            continue
        p = draw_problem(rng, spec)
        if p not in exclude:
            yield [p.line]


def make_split(spec: CorpusSpec) -> Split:
    rng = np.random.default_rng([spec.seed, 1])
    task = _unique(rng, spec.n_task, lambda r: draw_task_problem(r, spec), set())
    chain = Chain.make(spec.chain_alphabet, spec.seed, spec.chain_exceptions)
    starts = _unique(rng, min(spec.n_task, spec.chain_letters**2), chain.draw_start, set())
    code = Code.draw_test(rng)
    inputs = _unique(rng, spec.n_task, lambda r: draw_letters(r, spec.cipher_pairs), set())
    split = Split(spec, task, [], chain, starts, code, inputs, set(task))
    heldout: list[str] = []
    held_problems: set[Problem] = set()
    units = _units(rng, split, set(task))
    while len(heldout) < spec.n_heldout:
        for line in next(units):
            if "+" in line:
                p = _parse_problem(line, spec.digits)
                if p in held_problems:
                    break
                held_problems.add(p)
            heldout.append(line)
    split.heldout = heldout
    split.excluded = set(task) | held_problems
    return split


def _parse_problem(line: str, digits: int) -> Problem:
    q = line.split("=")[0]
    a, b = (int(x[::-1]) for x in q.split("+"))
    return Problem(a, b, digits)


def training_lines(split: Split, stream: int = 0) -> Iterator[str]:
    """An endless stream of training lines; ``stream`` picks an independent one."""
    rng = np.random.default_rng([split.spec.seed, 2, stream])
    for unit in _units(rng, split, split.excluded):
        yield from unit


def heldout_lines(split: Split) -> list[str]:
    """Held-out units drawn like training ones: unseen additions, chain lines
    (the table is knowledge, tested by recall) and cipher blocks under fresh codes."""
    return list(split.heldout)


def heldout_text(split: Split) -> str:
    return "".join(line + "\n" for line in heldout_lines(split))


def answer_flags(line: str) -> list[bool]:
    """Per character of ``line + "\\n"``: is it an answer (trained at full weight)?

    The random parts (operands, a chain's two start letters, the cipher's
    letters) are not: their gradient is noise. Answers are the sum after "="
    and its newline, a chain's letters after the start, and the cipher's codes,
    spaces and newline.
    """
    n = len(line) + 1
    if is_cipher_line(line):
        return [i % 3 != 0 for i in range(n)]
    start = line.index("=") + 1 if "=" in line else 2
    return [i >= start for i in range(n)]


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
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``seq_len + 1`` ids: BOS then whole lines, the last one cut at the row's end.

    Every row starts at a line boundary after BOS, exactly like a 0-shot
    prompt, and later lines follow a newline, exactly like few-shot prompts.
    ``n_seq=None`` packs until the lines run out (an unfinished row is dropped).
    Also returns, per target (``rows[:, 1:]``), whether it is an answer token
    (see :func:`answer_flags`).
    """
    rows: list[list[int]] = []
    flags: list[list[bool]] = []
    it = iter(lines)
    while n_seq is None or len(rows) < n_seq:
        row, flag = [tok.bos], [False]
        for line in it:
            row.extend(tok.encode(line + "\n", add_bos=False))
            flag.extend(answer_flags(line))
            if len(row) >= seq_len + 1:
                break
        if len(row) < seq_len + 1:
            break
        rows.append(row[: seq_len + 1])
        flags.append(flag[1 : seq_len + 1])
    shape = (len(rows), seq_len + 1)
    return np.array(rows, dtype=np.int64).reshape(shape), np.array(flags, dtype=bool).reshape(
        len(rows), seq_len
    )


def training_tokens(
    split: Split, tok: CharTokenizer, n_seq: int, seq_len: int, stream: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    return pack_rows(training_lines(split, stream), tok, n_seq, seq_len)
