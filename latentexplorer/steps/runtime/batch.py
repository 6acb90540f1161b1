"""Chunked, resumable batch runs, in this process or on a Dask cluster.

A batch step (PSDs, encoding, the catalog, orbits) splits its N input rows into chunks of fixed size
and computes each chunk independently. Each chunk's result is written, atomically, as one part file
``part-NNNNNN.npz`` in ``OUTPUT.parts/``; when every part is there the step merges them into OUTPUT
(atomically) and removes the directory. A rerun after an interruption — Ctrl-C, ``kill -9``, a lost
node — finds the finished parts and computes only the missing chunks. ``OUTPUT.parts/manifest.json``
records the step, its inputs (path, size, modification time) and its parameters; parts written under
another manifest are discarded, never mixed in.

Where the chunks run (:func:`dask_client`):

- nowhere special (default): one after the other in this process;
- ``workers=N``: a ``dask.distributed.LocalCluster`` of N single-threaded worker processes on the
  loopback interface;
- ``scheduler="tcp://host:8786"``: an existing dask.distributed cluster. Its workers must see the
  inputs (the spectra, the model directory) at the same paths, e.g. on a shared file system; results
  come back to this process, which alone writes the parts and the output.

A chunk's result depends only on its rows and the fixed chunk size, so every scheduler gives the same
output. At most ``2 × workers + 1`` chunks are in flight at a time, so memory stays bounded by the
chunk size whatever N is.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ...io.atomic import atomic_output

__all__ = ["Chunk", "plan_chunks", "PartStore", "describe_input", "Staged", "dask_client", "run_chunks"]

log = logging.getLogger(__name__)

PARTS_SUFFIX = ".parts"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Chunk:
    """Rows ``start:stop`` of a step's input, the ``index``-th chunk."""

    index: int
    start: int
    stop: int

    @property
    def rows(self) -> slice:
        return slice(self.start, self.stop)

    def __len__(self) -> int:
        return self.stop - self.start


def plan_chunks(n_rows: int, chunk_size: int) -> list[Chunk]:
    """Split ``n_rows`` rows into consecutive chunks of ``chunk_size`` (the last one shorter)."""
    if chunk_size < 1:
        raise ValueError(f"chunk size must be positive, got {chunk_size}")
    return [Chunk(i, start, min(start + chunk_size, n_rows))
            for i, start in enumerate(range(0, int(n_rows), int(chunk_size)))]


def describe_input(path) -> dict:
    """Identity of an input file or directory for a manifest: resolved path, size and mtime (ns).

    A directory is described by its sorted entries' names, sizes and mtimes (hashed)."""
    path = Path(path).resolve()
    stat = path.stat()
    if not path.is_dir():
        return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    digest = hashlib.sha256()
    for entry in sorted(path.rglob("*")):
        if entry.is_file():
            s = entry.stat()
            digest.update(f"{entry.relative_to(path)}\0{s.st_size}\0{s.st_mtime_ns}\n".encode())
    return {"path": str(path), "entries_sha256": digest.hexdigest()}


class PartStore:
    """The ``OUTPUT.parts/`` directory of one step: a manifest and one ``.npz`` part per finished chunk.

    Parameters
    ----------
    output : path
        The step's final output file; the parts live beside it in ``OUTPUT.parts/``.
    manifest : dict
        JSON-serialisable description of the step (name, inputs, parameters, chunk size). A parts
        directory with another manifest is emptied when the store is opened.
    """

    def __init__(self, output, manifest: dict):
        self.output = Path(output)
        self.directory = self.output.with_name(self.output.name + PARTS_SUFFIX)
        self.manifest = json.loads(json.dumps(manifest))  # normalise tuples → lists for comparison

    def open(self) -> set[int]:
        """Create the directory (or check its manifest) and return the indices of the finished chunks."""
        path = self.directory / MANIFEST
        if self.directory.is_dir():
            previous = _read_manifest(path)
            if previous != self.manifest:
                log.info("%s holds parts of another run: starting afresh", self.directory)
                shutil.rmtree(self.directory)
        if not self.directory.is_dir():
            self.directory.mkdir(parents=True)
            with atomic_output(path) as tmp:
                tmp.write_text(json.dumps(self.manifest, indent=2, sort_keys=True))
        done = set()
        for part in sorted(self.directory.glob("part-*.npz")):
            if _intact(part):
                done.add(int(part.stem.removeprefix("part-")))
            else:
                log.warning("%s is damaged (a truncated or altered chunk): discarded, its chunk is computed again",
                            part)
                part.unlink()
        if done:
            log.info("resuming: %d finished chunk(s) in %s", len(done), self.directory)
        return done

    @staticmethod
    def holds_finished_parts(directory) -> bool:
        """Whether the parts directory ``directory`` holds at least one finished chunk."""
        return any(Path(directory).glob("part-*.npz"))

    def _part(self, index: int) -> Path:
        return self.directory / f"part-{index:06d}.npz"

    def write(self, index: int, arrays: dict[str, np.ndarray]) -> None:
        """Store chunk ``index``'s result (arrays of plain dtypes, no objects), atomically."""
        with atomic_output(self._part(index), suffix=".npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)

    def read(self, index: int) -> dict[str, np.ndarray]:
        """The arrays of chunk ``index``."""
        with np.load(self._part(index), allow_pickle=False) as data:
            return {name: data[name] for name in data.files}

    def iter_parts(self, chunks: Sequence[Chunk]) -> Iterator[tuple[Chunk, dict[str, np.ndarray]]]:
        """(chunk, arrays) of every chunk, in row order."""
        for chunk in chunks:
            yield chunk, self.read(chunk.index)

    def remove(self) -> None:
        """Delete the parts directory (after the output is written)."""
        shutil.rmtree(self.directory, ignore_errors=True)


def _read_manifest(path: Path):
    """The parts directory's manifest, or None where it is absent or unreadable (then the parts are not
    resumed)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _intact(part: Path) -> bool:
    """True when the chunk file ``part`` is a complete .npz: a zip archive whose every member passes its CRC."""
    import zipfile

    try:
        with zipfile.ZipFile(part) as archive:
            return archive.testzip() is None
    except (OSError, zipfile.BadZipFile, EOFError):
        return False


@dataclass(frozen=True)
class Staged:
    """A chunk function in two stages, ``compute(read(*args))``: reading a chunk's input (disk, decoding)
    and computing its part.

    :func:`run_chunks` in this process reads the next chunk in a background thread while this one
    computes — one chunk ahead, so at most two chunks' inputs are in memory; on Dask a worker calls
    the whole function. The part is the same either way. Both stages must be module-level functions
    (picklable) for Dask.
    """

    read: Callable
    compute: Callable

    def __call__(self, *args):
        return self.compute(self.read(*args))


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None):
    """A ``dask.distributed.Client`` for ``scheduler`` (an address) or a LocalCluster of ``workers``
    single-threaded processes on 127.0.0.1 (no dashboard); ``None`` when neither is given.

    Raises ValueError when both are given or ``workers`` < 1."""
    if scheduler is not None and workers is not None:
        raise ValueError("give either a scheduler address or a number of workers, not both")
    if scheduler is None and workers is None:
        yield None
        return
    from distributed import Client, LocalCluster

    # distributed sets its logger to INFO when imported, so the scheduler's and nannies' start-up and
    # shutdown lines would pass a quiet application's WARNING: log at the application's level instead.
    logging.getLogger("distributed").setLevel(max(logging.getLogger().getEffectiveLevel(), logging.INFO))

    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    with LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def run_chunks(func: Callable, jobs: Sequence[tuple[Chunk, tuple]], store: PartStore, *, client=None,
               progress: bool = True, desc: str = "chunks", unit_rows: str = "rows") -> int:
    """Compute ``func(*args)`` for every ``(chunk, args)`` whose part is missing and store its result.

    ``func`` returns a dict of arrays (the part); with a ``client`` it must be importable by the
    workers (a module-level function or a ``functools.partial`` of one). Returns the number of chunks
    computed now. An exception in a chunk propagates after the parts finished so far are kept. A
    :class:`Staged` ``func`` run here reads the next chunk while this one computes.
    """
    done = store.open()
    todo = [(chunk, args) for chunk, args in jobs if chunk.index not in done]
    total = sum(len(chunk) for chunk, _ in jobs)
    bar = tqdm(total=total, initial=total - sum(len(c) for c, _ in todo), desc=desc, unit=unit_rows,
               disable=not progress)
    try:
        if client is None and isinstance(func, Staged):
            _run_read_ahead(func, todo, store, bar)
        elif client is None:
            for chunk, args in todo:
                store.write(chunk.index, func(*args))
                bar.update(len(chunk))
        else:
            _run_on_dask(client, func, todo, store, bar)
    finally:
        bar.close()
    return len(todo)


def _run_read_ahead(func: Staged, todo, store, bar) -> None:
    """The chunks one after the other, chunk i + 1 read in a background thread while chunk i computes."""
    if not todo:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as reader:
        ahead = reader.submit(func.read, *todo[0][1])
        try:
            for i, (chunk, _) in enumerate(todo):
                data = ahead.result()
                if i + 1 < len(todo):
                    ahead = reader.submit(func.read, *todo[i + 1][1])
                store.write(chunk.index, func.compute(data))
                del data
                bar.update(len(chunk))
        finally:
            ahead.cancel()


def _run_on_dask(client, func, todo, store, bar) -> None:
    from distributed import as_completed

    window = 2 * max(len(client.scheduler_info().get("workers", {})), 1) + 1
    pending = iter(todo)
    running = as_completed()
    chunk_of = {}  # future key → chunk
    run = hashlib.sha256(json.dumps(store.manifest, sort_keys=True).encode()).hexdigest()[:12]

    def submit_next():
        item = next(pending, None)
        if item is not None:
            chunk, args = item
            future = client.submit(func, *args, pure=False, key=f"{store.directory.name}-{run}-{chunk.index}")
            chunk_of[future.key] = chunk
            running.add(future)

    for _ in range(window):
        submit_next()
    for future in running:
        chunk = chunk_of.pop(future.key)
        store.write(chunk.index, future.result())
        future.release()
        bar.update(len(chunk))
        submit_next()

