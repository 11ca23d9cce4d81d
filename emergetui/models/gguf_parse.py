"""A GGUF metadata reader that reads only what fit, status and provenance need.

``gguf.GGUFReader`` turns every metadata value into numpy objects, the tokenizer's
arrays included: 9.5 s for Gemma 3's 262k-token vocabulary, paid by every rung of every
run and by every cached rung a ladder listing shows. Here numeric arrays are skipped
with one seek and string arrays by walking their lengths (~25 ms for 262k strings in
pure Python), keeping of each array only its element type, its length and its first
element. Tensor infos are read whole: the fitter needs every tensor's size. No numpy,
no ``gguf`` import: the format is small and stable (v2/v3), and a test checks the
block sizes below against ``gguf.constants.GGML_QUANT_SIZES`` and the whole result
against ``GGUFReader`` on every GGUF the tests have.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32

# GGUF value types
_STRING, _ARRAY, _BOOL = 8, 9, 7
# type id -> struct code of the scalar value
_SCALAR = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}

# ggml tensor type -> (block size in elements, bytes per block), as gguf.constants has it.
GGML_BLOCK_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    9: (32, 40),  # Q8_1
    10: (256, 84),  # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    15: (256, 292),  # Q8_K
    16: (256, 66),  # IQ2_XXS
    17: (256, 74),  # IQ2_XS
    18: (256, 98),  # IQ3_XXS
    19: (256, 50),  # IQ1_S
    20: (32, 18),  # IQ4_NL
    21: (256, 110),  # IQ3_S
    22: (256, 82),  # IQ2_S
    23: (256, 136),  # IQ4_XS
    24: (1, 1),  # I8
    25: (1, 2),  # I16
    26: (1, 4),  # I32
    27: (1, 8),  # I64
    28: (1, 8),  # F64
    29: (256, 56),  # IQ1_M
    30: (1, 2),  # BF16
    34: (256, 54),  # TQ1_0
    35: (256, 66),  # TQ2_0
    39: (32, 17),  # MXFP4
    40: (64, 36),  # NVFP4
    41: (128, 18),  # Q1_0
}


class GGUFFormatError(ValueError):
    """The bytes are not a GGUF file this reader understands (message without the path)."""


@dataclass(frozen=True)
class ArrayValue:
    """An array value as far as it was read: element type, length and first element."""

    elem_type: int
    count: int
    first: object


@dataclass(frozen=True)
class TensorEntry:
    name: str
    n_bytes: int


@dataclass(frozen=True)
class GGUFMeta:
    """Scalar metadata (arrays summarised) and tensor sizes of one GGUF file.

    String values are kept as the file's bytes: a value nobody uses may be any bytes.
    """

    version: int
    fields: dict[str, object]
    tensors: list[TensorEntry]


def read_gguf_meta(path: Path) -> GGUFMeta:
    """Read one GGUF file's metadata; raises :class:`GGUFFormatError` or ``OSError``."""
    with path.open("rb") as f:
        size = f.seek(0, 2)
        if size < 24:
            raise GGUFFormatError(f"file too short for a GGUF header ({size} bytes)")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            try:
                return _Parser(buf, size).parse()
            except struct.error as exc:  # ran past the end of the file
                raise GGUFFormatError(f"truncated GGUF metadata ({exc})") from None


class _Parser:
    def __init__(self, buf: mmap.mmap, size: int) -> None:
        self.buf = buf
        self.size = size
        self.pos = 0
        self.order = "<"

    def _unpack(self, code: str) -> object:
        s = struct.Struct(self.order + code)
        (value,) = s.unpack_from(self.buf, self.pos)
        self.pos += s.size
        return value

    def _u32(self) -> int:
        return int(self._unpack("I"))  # type: ignore[call-overload]

    def _u64(self) -> int:
        return int(self._unpack("Q"))  # type: ignore[call-overload]

    def _bytes(self) -> bytes:
        n = self._u64()
        end = self.pos + n
        if end > self.size:
            raise GGUFFormatError(f"truncated GGUF metadata (string at byte {self.pos:,})")
        raw = self.buf[self.pos : end]
        self.pos = end
        return raw

    def _str(self) -> str:
        """A key or tensor name: must be UTF-8 (values are decoded only when used)."""
        raw = self._bytes()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GGUFFormatError(f"name at {self.pos - len(raw)} is not UTF-8: {exc}") from None

    def parse(self) -> GGUFMeta:
        if self.buf[:4] != GGUF_MAGIC:
            raise GGUFFormatError("GGUF magic invalid")
        self.pos = 4
        (version,) = struct.unpack_from("<I", self.buf, 4)
        if version & 0xFFFF == 0:  # written for the other byte order
            self.order = ">"
            (version,) = struct.unpack_from(">I", self.buf, 4)
        if version not in SUPPORTED_VERSIONS:
            raise GGUFFormatError(f"GGUF version {version} is not supported (2 or 3)")
        self.pos = 8
        n_tensors = self._u64()
        n_kv = self._u64()
        fields: dict[str, object] = {}
        alignment_ok = True
        for _ in range(n_kv):
            key = self._str()
            vtype = self._u32()
            fields[key] = self._value(vtype)
            if key == "general.alignment" and vtype != 4:
                alignment_ok = False
        if not alignment_ok:
            raise GGUFFormatError("bad type for general.alignment")
        infos = [self._tensor_info() for _ in range(n_tensors)]
        align = fields.get("general.alignment", DEFAULT_ALIGNMENT)
        if not isinstance(align, int) or align <= 0 or align & (align - 1):
            raise GGUFFormatError(f"invalid alignment {align!r}: must be a power of two")
        data_start = -(-self.pos // align) * align
        tensors: list[TensorEntry] = []
        seen: set[str] = set()
        for name, n_bytes, offset in infos:
            if name in seen:
                raise GGUFFormatError(f"duplicated tensor {name}")
            seen.add(name)
            if data_start + offset + n_bytes > self.size:
                raise GGUFFormatError(
                    f"truncated: tensor {name} ends at byte {data_start + offset + n_bytes:,}, "
                    f"the file has {self.size:,}"
                )
            tensors.append(TensorEntry(name, n_bytes))
        return GGUFMeta(version=version, fields=fields, tensors=tensors)

    def _value(self, vtype: int) -> object:
        if vtype == _STRING:
            return self._bytes()
        if vtype == _ARRAY:
            return self._array()
        code = _SCALAR.get(vtype)
        if code is None:
            raise GGUFFormatError(f"unknown metadata value type {vtype} at byte {self.pos - 4}")
        return self._unpack(code)

    def _array(self) -> ArrayValue:
        etype = self._u32()
        count = self._u64()
        if count == 0:
            return ArrayValue(etype, 0, None)
        if etype == _STRING:
            first: object = self._bytes()
            self._skip_strings(count - 1)
        elif etype == _ARRAY:
            first = self._array()
            for _ in range(count - 1):
                self._array()
            return ArrayValue(etype, count, first)
        else:
            code = _SCALAR.get(etype)
            if code is None:
                raise GGUFFormatError(f"unknown array element type {etype} at byte {self.pos - 12}")
            first = self._unpack(code)
            self.pos += struct.calcsize(code) * (count - 1)
        if self.pos > self.size:
            raise GGUFFormatError(f"truncated GGUF metadata (array runs past byte {self.size:,})")
        return ArrayValue(etype, count, first)

    def _skip_strings(self, count: int) -> None:
        """Step over ``count`` length-prefixed strings: the loop that costs ~25 ms for 262k."""
        unpack = struct.Struct(self.order + "Q").unpack_from
        buf, pos = self.buf, self.pos
        for _ in range(count):
            pos += 8 + unpack(buf, pos)[0]
        self.pos = pos

    def _tensor_info(self) -> tuple[str, int, int]:
        name = self._str()
        n_dims = self._u32()
        if n_dims > 8:
            raise GGUFFormatError(f"tensor {name}: {n_dims} dimensions")
        n_elems = 1
        for _ in range(n_dims):
            n_elems *= self._u64()
        ttype = self._u32()
        offset = self._u64()
        sizes = GGML_BLOCK_SIZES.get(ttype)
        if sizes is None:
            raise GGUFFormatError(f"tensor {name}: unknown ggml type {ttype}")
        block, type_size = sizes
        return name, n_elems * type_size // block, offset


__all__ = [
    "GGML_BLOCK_SIZES",
    "ArrayValue",
    "GGUFFormatError",
    "GGUFMeta",
    "TensorEntry",
    "read_gguf_meta",
]
