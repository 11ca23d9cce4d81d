"""The hand-written part of RESULTS.md: how the ladder was made and what was tried.

Kept apart from :mod:`emergetui.toy.report` (which only formats measured
numbers) so that prose and computed text are never mixed up.
"""

NOTES = """## How it was made, and what to keep in mind

* Corpus: addition lines such as `7430+5829=23690` (little-endian, zero-padded operands of 1 to 4
  significant digits) and chain lines such as `lHHVGrLmYB` (two random letters of a-z, A-Z, then
  eight letters each fixed by the two before it through one hidden table: every letter has a usual
  successor, followed by half of the letter pairs, and the other half are exceptions). The
  addition test questions (full-width operands) and the held-out additions are drawn first and
  never occur in training; the chain is knowledge, tested by recall from 200 random starts.
* Training: every rung reads the same rows in the same order; AdamW, warm-up then cosine decay;
  random tokens (operands, a chain's two start letters) weighted 0.1 in the loss; peak learning
  rates falling with size, as in Pythia. Seed 0 is the only seed used.
* Threshold: addition is learnt after a plateau that the smaller rungs do not leave within the
  budget, so exact match, token accuracy and log-likelihood all jump at the same rung.
* Mirage: a chain letter is one lookup; the usual successors need only the previous letter, the
  exceptions need the letter before it and room to store them, so per-letter accuracy rises with
  size while all eight letters right (about accuracy to the 8th power) stays near zero and then
  shoots up. The generation is capped at eight tokens (`toy_chain.toml`): chain lines have no end
  marker, and a model that writes on would otherwise be scored on letters nobody asked for.
* The chain went through four full ladder runs (exact numbers in the session report of issue 18):
  a table of 20 letters built from permutations (no usual successor) was learnt almost entirely by
  every rung that found the two-letter lookup (toy-3: 97% of letters) and not at all by the others
  (6%, 30%), a threshold like addition's; 26 letters gave the same picture; 52 letters without
  usual successors left most rungs at chance (2-7%) and the two that found the lookup at 40% and
  68%. The usual successors were added to give every rung a floor to grow from.
* In-context learning was tried and is **not** in the shipped ladder. The design
  (`emergetui/toy/cipher.py`, still in the code behind `CorpusSpec.p_cipher`, 0 here): blocks of
  lines such as `CX AS FZ BT` under a code drawn afresh per block, and a test code never seen in
  training whose k-shot prompt is k lines of that code; only a model that finds an earlier `B` and
  copies the letter after it (an induction head, which needs two layers) can beat 1 in 8. Measured
  in torch on single models, 100 questions, exact match at 0/1/2/4/8 shots: a first format
  (`CAF>XSZ`, code letters three places after their letters) with 2 layers × 48 at 2,000 and
  5,000 steps and 3 × 96 at 3,000 steps stayed at 12-14% for every k; the pair format with 2 × 48
  and 2 × 96 at 3,000 steps, 2 × 64 and 3 × 64 at 5,000 steps (30% of units cipher blocks),
  2 × 64 at 2,000 steps with 90% cipher blocks (learning rate 3e-3 and 1e-2, batch 4 and 16),
  3 × 96 at 2,000 steps and 2 × 64 at 6,000 steps with 95% cipher blocks gave 0-33% with no rise
  over k beyond the noise of 100 questions (P(answer) stayed at 1/8). Induction heads in small
  models form only after a long plateau; within minutes of one CPU thread per rung none formed, so
  the default demo shows no in-context learning rather than a made-up one.
"""
