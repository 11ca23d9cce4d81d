"""Running an experiment: the typed spec, the runner and its rung work, the events it emits, the
results store.
"""
