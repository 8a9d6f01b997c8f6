"""Synthetic, deterministic practice data as FHIR R4 NDJSON (``carethread synth``).

``build_network`` draws the practices, people and a year of encounters from seeded random
streams; ``write_dataset`` renders them through a list of ``ResourceWriter``s, one file each.
To add a resource file (e.g. message history), write a function ``Network -> Iterable[dict]``
using its own ``network.rng("name")`` stream and append a ``ResourceWriter`` to
``default_writers()``.
"""

from carethread.core.synth.dataset import build_network, write_dataset
from carethread.core.synth.network import Network
from carethread.core.synth.writers import ResourceWriter, default_writers

__all__ = ["Network", "ResourceWriter", "build_network", "default_writers", "write_dataset"]
