"""What each product was made from (``provenance.json`` beside the products), and which products are stale.

Every pipeline step records, once its output is written, the files and directories it read: each one's
size and modification time and, up to :data:`HASH_LIMIT` bytes, the SHA-256 of its content. A product is
**stale** when one of its inputs has changed since (other content; a file rewritten with the same bytes is
not a change), is gone, or is itself stale — so re-simulating a survey makes every product downstream of it
stale, while re-running a step that gives byte-identical output changes nothing downstream.

The ledger lives in the output's directory (a workspace's ``provenance.json``), one entry per product named
by its file name; inputs inside that directory are stored relative to it, so a workspace can be moved.
It is rewritten atomically under its own lock, so steps running side by side on one workspace do not lose
each other's entries. A product replaced by something the ledger does not describe (copied in by hand) has
no known provenance and is never called stale.

    >>> for product in stale_products("workspace/"):   # doctest: +SKIP
    ...     print(product)
    latent.h5 is stale: survey/spectra.h5 changed since it was made; rerun `latentexplorer encode`
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_output
from .hdf5 import format_string, parse_format

__all__ = ["LEDGER_NAME", "HASH_LIMIT", "fingerprint", "record_product", "read_ledger", "ledger_problem", "StaleProduct",
           "stale_products"]


LEDGER_NAME = "provenance.json"
FORMAT, VERSION = "latentexplorer.provenance", 1
#: Inputs up to this many bytes (a file, or all files of a directory) are fingerprinted by content too.
HASH_LIMIT = 512 * 2**20

#: Which command makes each product (by the product's file name), for the messages.
REMAKE = {"psd.h5": "latentexplorer psd", "pairs.h5": "latentexplorer pairs", "model": "latentexplorer train",
          "latent.h5": "latentexplorer encode", "forest": "latentexplorer ages",
          "catalog.fits": "latentexplorer catalog", "catalog.csv.gz": "latentexplorer catalog",
          "orbits.fits": "latentexplorer orbits", "report": "latentexplorer report"}


def _files(path: Path) -> list[Path]:
    """The files a directory's fingerprint covers: every file below it but hidden ones (locks, temporaries)
    and chunked steps' ``.parts`` directories."""
    return sorted(p for p in path.rglob("*") if p.is_file()
                  and not any(part.startswith(".") or part.endswith(".parts") for part in p.relative_to(path).parts))


def _stat(path: Path) -> tuple[int, str]:
    """(bytes, stat signature): size and mtime of a file, or a digest of every file's name, size and mtime."""
    if not path.is_dir():
        s = path.stat()
        return s.st_size, f"{s.st_size}:{s.st_mtime_ns}"
    digest, total = hashlib.sha256(), 0
    for f in _files(path):
        s = f.stat()
        total += s.st_size
        digest.update(f"{f.relative_to(path).as_posix()}\0{s.st_size}\0{s.st_mtime_ns}\n".encode())
    return total, f"{total}:{digest.hexdigest()}"


def _content(path: Path) -> str:
    """SHA-256 of a file's bytes, or of a directory's files' names and bytes."""
    digest = hashlib.sha256()
    for f in _files(path) if path.is_dir() else [path]:
        if path.is_dir():
            digest.update(f.relative_to(path).as_posix().encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(functools.partial(fh.read, 1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()


def fingerprint(path) -> dict:
    """``{"stat": …, "sha256": … or None}`` of a file or directory (content hashed up to :data:`HASH_LIMIT`)."""
    path = Path(path)
    size, stat = _stat(path)
    return {"stat": stat, "sha256": _content(path) if size <= HASH_LIMIT else None}


def _unchanged(path: Path, recorded: dict) -> bool:
    """Whether ``path`` still holds what ``recorded`` (a :func:`fingerprint`) describes."""
    if not path.exists():
        return False
    size, stat = _stat(path)
    if stat == recorded.get("stat"):
        return True
    return recorded.get("sha256") is not None and size <= HASH_LIMIT and _content(path) == recorded["sha256"]


def read_ledger(directory) -> dict:
    """The products recorded in ``DIRECTORY/provenance.json`` (name → entry); {} when there is none or it is
    unreadable (a damaged ledger loses provenance, never a product: :func:`ledger_problem` says why)."""
    products, _ = _ledger(Path(directory) / LEDGER_NAME)
    return products


def ledger_problem(directory) -> str | None:
    """Why ``DIRECTORY/provenance.json`` exists but cannot be used (one line naming it), or None."""
    return _ledger(Path(directory) / LEDGER_NAME)[1]


def _ledger(path: Path) -> tuple[dict, str | None]:
    if not path.exists() and not path.is_symlink():
        return {}, None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        why = "is not valid JSON" if isinstance(err, ValueError) else f"cannot be read ({err.strerror or err})"
        return {}, f"{path} {why}"
    products = data.get("products") if isinstance(data, dict) else None
    if parse_format(data.get("format") if isinstance(data, dict) else None) != (FORMAT, VERSION) \
            or not isinstance(products, dict):
        return {}, f"{path} is not a latentexplorer provenance ledger of version {VERSION}"
    return products, None


@contextlib.contextmanager
def _ledger_lock(directory: Path):
    """Hold an ``flock`` on the directory itself while its ledger is rewritten (no lock file left behind)."""
    import fcntl

    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _relative(path: Path, directory: Path) -> str:
    path = path.resolve()
    try:
        return path.relative_to(directory.resolve()).as_posix()
    except ValueError:
        return str(path)


def _resolve(name: str, directory: Path) -> Path:
    return Path(name) if Path(name).is_absolute() else directory / name


def record_product(output, step: str, inputs: Iterable) -> None:
    """Record in the ledger beside ``output`` that ``step`` made it from ``inputs`` (paths; absent ones and
    None skipped). An input that is itself a recorded, unchanged product reuses its recorded fingerprint."""
    output = Path(output)
    directory = output.parent
    known = read_ledger(directory)
    sources = {}
    for source in inputs:
        if source is None or not Path(source).exists():
            continue
        source = Path(source)
        name = _relative(source, directory)
        entry = known.get(name) if "/" not in name else None
        sources[name] = (entry["output"] if entry and _unchanged(source, entry["output"]) else fingerprint(source))
    entry = {"step": step, "inputs": sources, "output": fingerprint(output)}
    with _ledger_lock(directory):
        products = read_ledger(directory)
        products[output.name] = entry
        with atomic_output(directory / LEDGER_NAME, suffix=".json") as tmp:
            tmp.write_text(json.dumps({"format": format_string(FORMAT, VERSION), "products": products},
                                      indent=1, sort_keys=True))


@dataclass(frozen=True)
class StaleProduct:
    """A product whose inputs changed since it was made: its ``name``, ``reasons`` (one per input) and
    ``changed``, the inputs anywhere upstream whose change made it stale."""

    name: str
    reasons: tuple[str, ...]
    changed: frozenset

    def __str__(self) -> str:
        again = REMAKE.get(self.name)
        return (f"{self.name} is stale: {'; '.join(self.reasons)}"
                + (f"; rerun `{again}`" if again else ""))


def stale_products(directory) -> list[StaleProduct]:
    """The stale products of ``directory``'s ledger, in ledger order (see the module docstring)."""
    directory = Path(directory)
    products = read_ledger(directory)
    verdicts: dict[str, StaleProduct | None] = {}

    def verdict(name: str) -> StaleProduct | None:
        """Why ``name`` is stale; None when it is not, or its provenance is unknown."""
        if name in verdicts:
            return verdicts[name]
        entry = products[name]
        path = directory / name
        verdicts[name] = None  # also breaks a cycle in a hand-edited ledger
        if not path.exists() or not _unchanged(path, entry.get("output", {})):
            return None
        reasons, changed = [], set()
        for source, recorded in entry.get("inputs", {}).items():
            source_path = _resolve(source, directory)
            upstream = verdict(source) if source in products else None
            if not source_path.exists():
                reasons.append(f"{source} is gone")
                changed.add(source)
            elif not _unchanged(source_path, recorded):
                reasons.append(f"{source} changed since it was made")
                changed.add(source)
            elif upstream is not None:
                reasons.append(f"{source} is stale")
                changed |= upstream.changed
        verdicts[name] = StaleProduct(name, tuple(reasons), frozenset(changed)) if reasons else None
        return verdicts[name]

    return [v for v in (verdict(name) for name in list(products)) if v is not None]
