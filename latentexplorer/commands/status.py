"""Say which products a workspace holds, what each was made from, and which are stale.

A product is stale when one of its inputs changed after it was made (a re-simulated survey, a retrained
model, a rerun step whose output differs), is gone, or is itself stale; the steps record their inputs in
WORKSPACE/provenance.json as they write. A product copied in by hand has no recorded provenance. The age
model (forest/) is UNUSABLE when its reader refuses it — incomplete (a run of `ages` killed while its
files landed) or damaged: no step reads it.

Exit status: 0 when nothing is stale or unusable and provenance.json is readable, 1 otherwise (so a script
can test it), 2 on a wrong call.

Example:
  latentexplorer status WORKSPACE
"""

from __future__ import annotations

from pathlib import Path

HELP = "list a workspace's products, what each was made from, and which are stale"

#: Products in pipeline order: workspace attribute names (see latentexplorer.workspace.WorkspacePaths).
ORDER = ("allstar", "seismic", "spectra", "truth", "psd", "pairs", "model", "latent", "forest", "catalog",
         "catalog_csv", "orbits", "report")

#: The survey's own files: inputs of the pipeline, made by no step.
SOURCES = ("allstar", "seismic", "spectra", "truth")


def add_arguments(parser) -> None:
    parser.add_argument("workspace", type=Path, help="workspace directory")


def _unusable(name: str, path: Path) -> str | None:
    """Why the product ``name`` (a :data:`ORDER` entry) at ``path`` cannot be read — its reader's one line — or
    None. Only the age model's directory, a product of several files, is checked."""
    if name != "forest":
        return None
    from ..ages.files import read_forest_metadata

    try:
        read_forest_metadata(path)
    except (FileNotFoundError, ValueError) as err:
        return str(err)
    return None


def run(args) -> int:
    from ..io.provenance import ledger_problem, read_ledger, stale_products
    from ..workspace import WorkspacePaths

    paths = WorkspacePaths(args.workspace)
    if not paths.root.is_dir():
        raise FileNotFoundError(f"workspace {paths.root} does not exist")
    ledger = read_ledger(paths.root)
    stale = {product.name: product for product in stale_products(paths.root)}
    n_unusable = 0
    for name in ORDER:
        path = getattr(paths, name)
        shown = path.relative_to(paths.root).as_posix()
        if not path.exists():
            print(f"  {shown:<22} missing")
            continue
        entry = ledger.get(path.name) if path.parent == paths.root else None
        if entry:
            made = f"made by `{entry['step']}` from {', '.join(entry['inputs']) or 'nothing on disk'}"
        else:
            made = "survey input" if name in SOURCES else "no recorded provenance (not made by a step here)"
        why = _unusable(name, path)
        n_unusable += why is not None
        if why:
            state = f"UNUSABLE: {why}"
        elif path.name in stale:
            state = f"STALE: {'; '.join(stale[path.name].reasons)}"
        else:
            state = "ok"
        print(f"  {shown:<22} {state:<4}  {made}" if state == "ok" else f"  {shown:<22} {state}  ({made})")
    problem = ledger_problem(paths.root)
    if problem:
        print(f"{problem}: what each product was made from is unknown; the next run of each step records it again")
    if stale or n_unusable:
        print(f"{len(stale)} stale and {n_unusable} unusable product(s): rerun the steps that make them, "
              "in pipeline order")
    return 1 if stale or n_unusable or problem else 0
