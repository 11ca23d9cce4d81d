"""What llama.cpp's backends report about the machine's devices, for fitting models to it."""

from __future__ import annotations


def gpu_free_memory() -> int | None:
    """Free memory summed over ggml's dedicated-GPU devices, or None if not knowable.

    llama-cpp-python binds no device-memory call, so this asks ggml's backend
    registry through ``llama_cpp._ggml`` directly; any mismatch of the private
    API simply falls back to ``nvidia-smi``.
    """
    try:
        import ctypes

        from llama_cpp import _ggml

        lib = _ggml.libggml
        lib.ggml_backend_dev_count.restype = ctypes.c_size_t
        lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
        lib.ggml_backend_dev_get.restype = ctypes.c_void_p
        lib.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
        lib.ggml_backend_dev_type.restype = ctypes.c_int
        size_p = ctypes.POINTER(ctypes.c_size_t)
        lib.ggml_backend_dev_memory.argtypes = [ctypes.c_void_p, size_p, size_p]
        lib.ggml_backend_dev_memory.restype = None
        total_free = 0
        n_gpu = 0
        for i in range(lib.ggml_backend_dev_count()):
            dev = lib.ggml_backend_dev_get(i)
            if lib.ggml_backend_dev_type(dev) != 1:  # GGML_BACKEND_DEVICE_TYPE_GPU
                continue
            free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
            lib.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
            total_free += free.value
            n_gpu += 1
        return total_free if n_gpu else None
    except Exception:  # noqa: BLE001 - optional probe: any failure means "unknown"
        return None
