"""llama.cpp engine: load a GGUF model, score continuations, generate greedily."""

# First, before anything loads llama_cpp (and with it libgomp): how its threads wait.
from emergetui.engine.threads import OPENMP_SETUP

# isort: split
from emergetui.engine.engine import Engine, gpu_offload_supported, resolve_gpu_layers
from emergetui.engine.errors import EngineError, ModelLoadError, RequestError
from emergetui.engine.types import Generated, RollingLoss, Scored

__all__ = [
    "OPENMP_SETUP",
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
