"""What a pipeline step did: one small summary type shared by the steps."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["StepSummary"]


@dataclass
class StepSummary:
    """What a step did: rows done cleanly, done but flagged, failed (NaN), and the output path."""

    done: int
    flagged: int
    failed: int
    output: Path | None = None

    def __str__(self) -> str:
        where = f" → {self.output}" if self.output else ""
        return f"{self.done} done, {self.flagged} flagged, {self.failed} failed{where}"
