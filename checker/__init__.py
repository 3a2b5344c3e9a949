"""knightwatch: policy-as-code checks for how code reaches production."""

__version__ = "0.1.0"
