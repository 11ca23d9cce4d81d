"""The terminal lab: a Textual front end over the runner's event stream and the results store.

Nothing in the core imports this package (an import-linter contract enforces
it), so the engine, store and analysis stay usable headless; everything here
only consumes :mod:`emergetui.run.events` and reads the store.
"""
