"""Build the network for a size, seed and year, then stream it to NDJSON files."""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Sequence
from pathlib import Path

from carethread.core.synth import people, practice, visits
from carethread.core.synth.network import Network
from carethread.core.synth.progress import NoProgress, Progress
from carethread.core.synth.writers import ResourceWriter, default_writers

BATCH = 2000  # lines per write() call


def build_network(patients: int, seed: int, year: int, progress: Progress | None = None) -> Network:
    """The whole network in memory (compactly); same arguments, same network."""
    progress = progress or NoProgress()
    network = Network(seed=seed, year=year)
    practice.add_organizations(network, practice.organization_count(patients))
    assignment = people.panel_assignment(network, patients)
    sizes = collections.Counter(assignment)
    practice.add_practitioners(network, [sizes[org.index] for org in network.organizations])
    people.add_patients(network, assignment, progress.task("Drawing patients", patients))
    del assignment
    people.add_representatives(network)
    visits.add_encounters(network, progress.task("Drawing encounters", patients))
    return network


def write_dataset(
    network: Network,
    out_dir: Path,
    writers: Sequence[ResourceWriter] | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write one ``<ResourceType>.ndjson`` per writer into ``out_dir``; returns the counts.

    Each file is written under a temporary name and renamed when complete, so a reader never
    sees half a file."""
    progress = progress or NoProgress()
    out_dir.mkdir(parents=True, exist_ok=True)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    counts: dict[str, int] = {}
    for writer in default_writers() if writers is None else writers:
        advance = progress.task(writer.resource_type, writer.count(network))
        target = out_dir / writer.filename
        partial = out_dir / f".{writer.filename}.partial"
        written = 0
        with partial.open("w", encoding="utf-8", newline="\n") as stream:
            lines: list[str] = []
            for resource in writer.render(network):
                lines.append(encode(resource))
                if len(lines) == BATCH:
                    stream.write("\n".join(lines) + "\n")
                    written += BATCH
                    advance(BATCH)
                    lines.clear()
            if lines:
                stream.write("\n".join(lines) + "\n")
                written += len(lines)
                advance(len(lines))
        os.replace(partial, target)
        counts[writer.resource_type] = written
    return counts
