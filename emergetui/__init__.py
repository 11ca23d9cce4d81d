"""emergetui: an emergence lab in the terminal."""

from emergetui.engine import Engine, Generated, RollingLoss, Scored

__all__ = ["Engine", "Generated", "RollingLoss", "Scored"]
__version__ = "0.1.0"
