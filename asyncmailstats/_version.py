"""The package version, read by the build and by ``asyncmailstats.__version__``."""

__version__ = "0.2.0"
