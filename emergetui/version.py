"""The version of emergetui, in a module that imports nothing.

Kept apart from the package root so that the layers below it (a rung's provenance records
the version) never import ``emergetui`` itself, whose lazy exports reach every layer.
"""

__version__ = "0.1.0"
