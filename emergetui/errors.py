"""User-facing errors of the command line, in a module of their own so every entry point shares one class."""


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""
