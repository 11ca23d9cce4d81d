"""The hand-written part of RESULTS.md: how the ladder was made and what was tried.

Kept apart from :mod:`emergetui.toy.report` (which only formats measured
numbers) so that prose and computed text are never mixed up.
"""

NOTES = """## How it was made, and what to keep in mind

* Corpus: addition lines such as `7430+5829=23690` (little-endian, zero-padded operands of 1 to 4
  significant digits) and chain lines such as `qxmhdaoctw` (two random letters, then eight letters
  each fixed by the two before it through one hidden 20×20 table built from permutations, so that
  every table entry is visited equally often). The addition test questions (full-width operands)
  and held-out additions are drawn first and never occur in training; the chain is knowledge and is
  tested by recall (200 of the 400 starts).
* Training: every rung reads the same rows in the same order; AdamW, warm-up then cosine decay;
  random tokens (operands, a chain's two start letters) weighted 0.1 in the loss; peak learning
  rates falling with size, as in Pythia. Seed 0 is the only seed used. The shapes and rates are the
  previous ladder's; only the corpus changed.
* Threshold: addition is learnt after a plateau that the smaller rungs do not leave within the
  budget, so exact match, token accuracy and log-likelihood all jump at the same rung.
* Mirage: each chain letter is one lookup in the table, and a model of a given size has room for
  part of it, so per-letter accuracy and log-likelihood rise at every rung while all eight letters
  right, about accuracy to the 8th power, stays near zero and then shoots up. P(target) (mean over
  questions of the product of per-token probabilities) follows exact match too.
* In-context learning was tried and is **not** in the shipped ladder. The design
  (`emergetui/toy/cipher.py`, still in the code behind `CorpusSpec.p_cipher`, 0 here): blocks of
  lines such as `CX AS FZ BT` under a code drawn afresh per block, and a test code never seen in
  training whose k-shot prompt is k lines of that code; only a model that finds an earlier `B` and
  copies the letter after it (an induction head, which needs two layers) can beat 1 in 8. Measured
  in torch on single models, 100 questions, exact match at 0/1/2/4/8 shots: a first format
  (`CAF>XSZ`, code letters aligned three places later) with 2 layers × 48 at 2,000 and 5,000 steps
  and 3 × 96 at 3,000 steps stayed at 12-14% for every k; the pair format with 2 × 48 and 2 × 96
  at 3,000 steps, 2 × 64 and 3 × 64 at 5,000 steps (30% of units cipher blocks), 2 × 64 at
  2,000 steps with 90% cipher blocks (learning rate 3e-3 and 1e-2, batch 4 and 16) and 3 × 96 at
  2,000 steps stayed between 2% and 33% with no rise over k beyond the noise of 100 questions, and
  the loss on cipher rows stayed on the no-copying plateau. Induction heads in small models are
  known to form only after a long plateau; within a budget of minutes of one CPU thread per rung
  none formed, so the default demo shows no ICL rather than a made-up one.
"""
