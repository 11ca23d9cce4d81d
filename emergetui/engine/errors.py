"""Engine errors: each one names the file or item it is about."""

from __future__ import annotations

from emergetui.errors import EmergetuiError


class EngineError(EmergetuiError, RuntimeError):
    """Something went wrong inside llama.cpp or with its inputs."""


class ModelLoadError(EngineError):
    """A GGUF file could not be loaded; the message names the file and the cause."""


class RequestError(EngineError):
    """One request cannot be served (empty continuation, longer than the context, ...).

    Returned per item rather than raised for the whole batch, so that one bad
    item never costs the others their results.
    """
