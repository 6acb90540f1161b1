"""The step decorator that records what each product was made from in the workspace's provenance ledger
(:mod:`latentexplorer.io.provenance`, the ledger's format) and warns about stale inputs and products."""

from __future__ import annotations

import logging

from ...io.provenance import record_product, stale_products
from .outputs import as_paths, step_decorator

__all__ = ["records_provenance"]

log = logging.getLogger(__name__)


def records_provenance(step: str, outputs, inputs):
    """Decorator for a step: warn (log) about the step's stale inputs before it runs; once it has returned,
    record its ``outputs(arguments)`` as made from ``inputs(arguments)`` (``arguments``: the call's bound
    arguments by name, defaults applied; each callable returns a path or an iterable of paths) and warn
    about the products that its new output has made stale. Put it under :func:`~.outputs.locks_output`, so
    the record is written while the output's lock is held."""

    def around(func, arguments, call):
        made, sources = as_paths(outputs(arguments)), as_paths(inputs(arguments))
        directories = {p.parent.resolve() for p in made}
        for directory in directories:
            for product in stale_products(directory):
                if any(p.name == product.name for p in sources if p.parent.resolve() == directory):
                    log.warning("%s: an input is stale — %s", step, product)
        result = call()
        for path in made:
            if path.exists():
                record_product(path, step, sources)
        names = {p.name for p in made}
        for directory in directories:
            for product in stale_products(directory):
                if product.name not in names and product.changed & names:
                    log.warning("%s", product)
        return result

    return step_decorator(around)
