"""JSON product files (the training record, the age model's metadata): read and checked in one place."""

from __future__ import annotations

import json
from pathlib import Path

from .hdf5 import FORMAT_PREFIX, parse_format

__all__ = ["read_json_product"]


def read_json_product(path, name: str, version: int, remedy: str) -> dict:
    """The JSON object in ``path``, after checking its ``format`` is ``latentexplorer.<name>`` at a version
    ≤ ``version``; ``remedy`` (e.g. "rerun `latentexplorer ages`") ends the message of a foreign file.

    Raises ValueError naming the file: not JSON, not an object, another or no format, a newer version.
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    found = parse_format(payload.get("format")) if isinstance(payload, dict) else None
    if found is None or found[0] != name:
        raise ValueError(f"{path} is not a {FORMAT_PREFIX}{name} file (version {version}): {remedy}")
    if found[1] > version:
        raise ValueError(f"{path} is a {FORMAT_PREFIX}{name} file of version {found[1]}; this latentexplorer "
                         f"reads versions ≤ {version}: upgrade latentexplorer")
    return payload
