"""Subcommands of the ``latentexplorer`` CLI, one module each (see :mod:`latentexplorer.cli`)."""
