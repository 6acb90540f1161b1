"""What every step runs inside: output checks and locks, the provenance record, chunked resumable runs."""
