"""emergetui's own ladder: small llama-architecture models trained here, shipped as GGUF.

Real ladders are gigabytes; this one is a few megabytes and shows emergence at
once. ``python -m emergetui.toy.train --out DIR`` rebuilds it from a seed
(needs the ``[train]`` extra, i.e. torch); everything else in this package
(corpus, files, measurement) runs without torch.
"""

from emergetui.toy.files import TOY_DIR, Manifest

__all__ = ["TOY_DIR", "Manifest"]
