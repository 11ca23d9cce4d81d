"""The hand-written part of RESULTS.md: how the ladder was made and what was tried.

Kept apart from :mod:`emergetui.toy.report` (which only formats measured
numbers) so that prose and computed text are never mixed up.
"""

NOTES = """## How it was made, and what to keep in mind

* Corpus: addition lines such as `7430+5829=23690` (little-endian, zero-padded operands of 1 to 4
  significant digits) and chain lines such as `lHJVWjBuwNtm` (two random letters of a-z, A-Z, then
  ten letters each fixed by the two before it through one hidden table: every letter has a usual
  successor, followed by 15% of the letter pairs, and the other 85% are exceptions drawn at
  random). The addition test questions (full-width operands) and the held-out additions are drawn
  first and never occur in training; the chain is knowledge, tested by recall from 200 random
  starts.
* Training: every rung reads the same rows in the same order; AdamW, warm-up then cosine decay;
  random tokens (operands, a chain's two start letters) weighted 0.1 in the loss; peak learning
  rates falling with size, as in Pythia. Seed 0 is the only seed used.
* Threshold: addition is learnt after a plateau that the smaller rungs do not leave within the
  budget, so exact match, token accuracy and log-likelihood all jump at the same rung.
* Mirage: a chain letter is one lookup; the usual successors need only the previous letter, the
  exceptions need the letter before it and room to store them, so per-letter accuracy rises with
  size while all ten letters right (about accuracy to the 10th power) stays near zero and then
  shoots up. The generation is capped at ten tokens (`toy_chain.toml`): chain lines have no end
  marker, and a model that writes on would otherwise be scored on letters nobody asked for.
* What the lab's analysis said about this ladder when it was shipped (`emergetui --batch`, before
  the analysis rewrite of issue 15): addition EMERGENT, mirage test `survives`; the chain's exact
  match SMOOTH (its rise has two steps, toy-2 -> toy-3 and toy-4 -> toy-5), log-likelihood per
  token inconclusive, P(correct) and edit distance emergent. So the chain shows the mirage's
  ingredients (a steep all-or-nothing curve made of a gradual per-letter one, predicted by
  accuracy to the 10th power) more than a clean single jump.
* Edit distance is not a per-letter metric on the chain: in greedy generation one wrong letter
  puts the rest of the walk on another path, so the answer's edit distance falls with exact match
  (a step at the same rungs), while the teacher-forced per-letter accuracy and log-likelihood,
  which score every letter given the right ones before it, do not. Read the mirage on those two.
* Development runs of the chain (per-letter accuracy, toy-1 to toy-7, 200 questions): a table
  of 20 letters built from permutations (no usual successor, 2,000 steps): 6%, 30%, 97%, 99%,
  100%, 99%, 96%, a threshold like addition's (every rung that found the two-letter lookup knew
  almost all of it); 26 letters, 3,000 steps: 7%, 5%, 97%, 96%, 63%, 98%, 93%; 52 letters: 2%,
  2%, 7%, 2%, 40%, 68%, 6% (most rungs never found the lookup). The usual successors give every
  rung a floor to grow from. With 50% exceptions and 8-letter answers (a ladder that was shipped
  for a while): 81%, 87%, 93%, 94%, 100%, 100%, 100%, exact match 31%, 44%, 54%, 60%, 98%, 100%,
  100% (whole answers already often right on the smallest rung); with 75% and 10 letters the
  held-out loss rose from toy-5 to toy-6 (0.8363 -> 0.8375). The shipped ladder uses 85% and 10.
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
