"""kyusho (求償): 求償権管理 for a 信用保証協会's recovery department."""

__version__ = "0.1.0"
