"""paved: the paved road of the internal developer platform."""

__version__ = "0.1.0"

__all__ = ["__version__"]
