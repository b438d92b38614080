"""The package's version, in a module of its own: every module may read it (a checkpoint
records it) without importing the package's ``__init__``, which imports the API above them."""

__version__ = "0.1.0"
