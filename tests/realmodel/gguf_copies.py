"""Copies of a real GGUF model with every weight re-encoded, written with the ``gguf`` package.

The batch-invariance tests and ``benchmarks/invariance.py`` need the same real
weights in several encodings (F32, F16, Q8_0, Q4_0, Q4_1) to tell the quantized
kernels' behaviour apart from the rest of llama.cpp. llama.cpp's own quantizer
refuses to requantize an already quantized file, so the copy goes through
``gguf.quants``: every tensor is dequantized to float32, then 2-D weights are
encoded in the wanted type (1-D tensors, the norms, stay F32 as llama.cpp's
quantizer keeps them). Copies are cached beside the source file and written
atomically (temporary name, then rename), so parallel test processes reuse them.
"""

from __future__ import annotations

import os
from pathlib import Path

import gguf
import numpy as np

TYPES = {
    "F32": gguf.GGMLQuantizationType.F32,
    "F16": gguf.GGMLQuantizationType.F16,
    "Q8_0": gguf.GGMLQuantizationType.Q8_0,
    "Q4_0": gguf.GGMLQuantizationType.Q4_0,
    "Q4_1": gguf.GGMLQuantizationType.Q4_1,
}


def copy_path(src: Path, kind: str) -> Path:
    """Where the ``kind`` copy of ``src`` is cached (next to it)."""
    return src.with_name(f"{src.stem}.{kind.lower()}-copy.gguf")


def retyped_copy(src: Path, kind: str) -> Path:
    """The cached ``kind`` copy of ``src``, written first if missing."""
    dst = copy_path(src, kind)
    if dst.exists():
        return dst
    qtype = TYPES[kind]
    reader = gguf.GGUFReader(src)
    arch = str(reader.fields[gguf.Keys.General.ARCHITECTURE].contents())
    tmp = dst.with_name(f"{dst.name}.{os.getpid()}.tmp")
    writer = gguf.GGUFWriter(tmp, arch)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        if field.name == gguf.Keys.General.FILE_TYPE:
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub)
    datas: list[tuple[str, np.ndarray, gguf.GGMLQuantizationType]] = []
    for t in reader.tensors:
        shape = tuple(int(x) for x in reversed(t.shape))  # numpy order: rows last dim first
        w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(shape)
        if w.ndim < 2 or qtype == gguf.GGMLQuantizationType.F32:
            datas.append((t.name, w, gguf.GGMLQuantizationType.F32))
        elif qtype == gguf.GGMLQuantizationType.F16:
            datas.append((t.name, w.astype(np.float16), qtype))
        else:
            datas.append((t.name, gguf.quants.quantize(w, qtype), qtype))
    for name, data, ttype in datas:
        writer.add_tensor_info(name, data.shape, data.dtype, data.nbytes, ttype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _name, data, _ttype in datas:
        writer.write_tensor_data(data)
    writer.close()
    os.replace(tmp, dst)
    return dst
