"""llama.cpp engine: load a GGUF model, score continuations, generate greedily."""

from emergetui.engine.engine import Engine, gpu_offload_supported, resolve_gpu_layers
from emergetui.engine.errors import EngineError, ModelLoadError, RequestError
from emergetui.engine.types import Generated, RollingLoss, Scored

__all__ = [
    "Engine",
    "EngineError",
    "Generated",
    "ModelLoadError",
    "RequestError",
    "RollingLoss",
    "Scored",
    "gpu_offload_supported",
    "resolve_gpu_layers",
]
