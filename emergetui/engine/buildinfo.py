"""What the installed llama.cpp was built with, and the devices its backends see.

Why: whether a GPU is used depends on how llama-cpp-python was compiled
(``CMAKE_ARGS``), which a user cannot see; pip also happily reuses a CPU-only wheel
from its cache. The library itself knows: ``llama_print_system_info`` lists the
compiled features and ggml's backend registry lists the backends that were built
(CPU, CUDA, Metal, Vulkan, RPC, BLAS, ...) with their devices and free memory.
:func:`probe` asks both; :meth:`BuildInfo.from_report` builds the same record from
given strings, so the rendering is tested for builds this machine does not have.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass, field

#: The backends ``emergetui doctor`` reports on, and the names ggml registers them as
#: (backend registry) or writes in its system info.
FEATURES: dict[str, tuple[str, ...]] = {
    "CUDA": ("CUDA",),
    "Metal": ("METAL", "MTL"),
    "Vulkan": ("VULKAN",),
    "HIP": ("HIP", "ROCM"),
    "SYCL": ("SYCL",),
    "RPC": ("RPC",),
    "BLAS": ("BLAS",),
}
GPU_FEATURES = ("CUDA", "Metal", "Vulkan", "HIP", "SYCL")
_DEVICE_TYPES = {0: "CPU", 1: "GPU", 2: "iGPU", 3: "accelerator"}


@dataclass(frozen=True)
class DeviceInfo:
    """One ggml device: its name, description, kind and memory (bytes; 0 if unknown)."""

    name: str
    description: str
    kind: str
    free: int = 0
    total: int = 0


@dataclass(frozen=True)
class BuildInfo:
    """The build's version, system info, registered backends and devices."""

    version: str
    system_info: str
    backends: tuple[str, ...] = ()
    devices: tuple[DeviceInfo, ...] = ()
    error: str = ""
    features: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def from_report(
        cls,
        version: str,
        system_info: str,
        backends: Sequence[str] = (),
        devices: Sequence[DeviceInfo] = (),
        error: str = "",
    ) -> BuildInfo:
        return cls(
            version,
            system_info,
            tuple(backends),
            tuple(devices),
            error,
            features(system_info, backends),
        )

    @property
    def gpu_backends(self) -> list[str]:
        return [f for f in GPU_FEATURES if self.features.get(f)]


def features(system_info: str, backends: Sequence[str]) -> dict[str, bool]:
    """Which of :data:`FEATURES` the build has: a registered backend of that name, or the
    system info naming it: a section ``CUDA : ARCHS = 890 | ...`` or a flag ``BLAS = 1``."""
    found = {b.strip().upper() for b in backends}
    for part in system_info.replace("\n", "|").split("|"):
        section, colon, rest = part.partition(":")
        if colon:  # "CUDA : ARCHS = 890": a backend section, then its first flag
            found.add(section.strip().upper())
            part = rest
        key, eq, value = part.partition("=")
        if eq and value.strip() not in ("0", "OFF", ""):
            found.add(key.strip().upper())
    return {feat: any(k in found for k in keys) for feat, keys in FEATURES.items()}


def probe() -> BuildInfo:
    """Ask the installed llama.cpp (never raises: a failure is recorded in ``error``)."""
    try:
        import llama_cpp

        version = str(getattr(llama_cpp, "__version__", "?"))
        raw = llama_cpp.llama_print_system_info()
        info = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    except Exception as e:  # noqa: BLE001 - an unusable install is what doctor reports
        return BuildInfo.from_report("not importable", "", error=f"{type(e).__name__}: {e}")
    try:
        backends, devices = _registry()
    except Exception as e:  # noqa: BLE001 - the private ggml API may move between versions
        return BuildInfo.from_report(version, info, error=f"backend registry: {e}")
    return BuildInfo.from_report(version, info, backends, devices)


def _registry() -> tuple[list[str], list[DeviceInfo]]:
    """ggml's registered backends and devices, through ``llama_cpp._ggml`` (as devices.py)."""
    from llama_cpp import _ggml

    lib = _ggml.libggml
    lib.ggml_backend_reg_count.restype = ctypes.c_size_t
    lib.ggml_backend_reg_get.argtypes = [ctypes.c_size_t]
    lib.ggml_backend_reg_get.restype = ctypes.c_void_p
    lib.ggml_backend_reg_name.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_reg_name.restype = ctypes.c_char_p
    backends = [
        (lib.ggml_backend_reg_name(lib.ggml_backend_reg_get(i)) or b"?").decode()
        for i in range(lib.ggml_backend_reg_count())
    ]
    lib.ggml_backend_dev_count.restype = ctypes.c_size_t
    lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
    lib.ggml_backend_dev_get.restype = ctypes.c_void_p
    for name in ("ggml_backend_dev_name", "ggml_backend_dev_description"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
        getattr(lib, name).restype = ctypes.c_char_p
    lib.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_type.restype = ctypes.c_int
    size_p = ctypes.POINTER(ctypes.c_size_t)
    lib.ggml_backend_dev_memory.argtypes = [ctypes.c_void_p, size_p, size_p]
    lib.ggml_backend_dev_memory.restype = None
    devices = []
    for i in range(lib.ggml_backend_dev_count()):
        dev = lib.ggml_backend_dev_get(i)
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        lib.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
        devices.append(
            DeviceInfo(
                (lib.ggml_backend_dev_name(dev) or b"?").decode("utf-8", "replace"),
                (lib.ggml_backend_dev_description(dev) or b"").decode("utf-8", "replace"),
                _DEVICE_TYPES.get(lib.ggml_backend_dev_type(dev), "other"),
                free.value,
                total.value,
            )
        )
    return backends, devices
