"""Model files: ladders (models.toml), Hub downloads, GGUF headers and writing, fitting a rung to
the machine.
"""
