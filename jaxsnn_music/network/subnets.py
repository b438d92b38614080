"""The subnetworks of a column and their sizes: the one place sizes come from.

A column of a sequence layer holds one minicolumn per subnetwork: pitch (``0``: the 129
pitch classes, rest included) and duration (``1``: ``encoding.n_duration_classes``
classes). Every value has ``network.context_cells`` neurons (its context cells; one in
the paper), so neuron ``n`` of a subnetwork prefers value ``n // cells``. Where a
simulation puts every subnetwork's neurons side by side, neuron ``n`` of subnetwork
``s`` is number ``offset(s) + n`` (the *global* neuron index).
"""

from __future__ import annotations

import dataclasses

from jaxsnn_music.events import N_PITCH_CLASSES

PITCH, DURATION = 0, 1
NAMES = ("pitch", "duration")


@dataclasses.dataclass(frozen=True)
class Subnets:
    """Values per subnetwork and cells per value."""

    values: tuple[int, ...]
    cells: int = 1

    @staticmethod
    def from_config(cfg) -> Subnets:
        """From a :class:`~jaxsnn_music.config.Config`."""
        return Subnets((N_PITCH_CLASSES, cfg.encoding.n_duration_classes), cfg.network.context_cells)

    @property
    def count(self) -> int:
        return len(self.values)

    def neurons(self, subnet: int) -> int:
        return self.values[subnet] * self.cells

    def offset(self, subnet: int) -> int:
        return sum(self.neurons(s) for s in range(subnet))

    @property
    def total(self) -> int:
        """Neurons of every subnetwork of one column."""
        return sum(self.neurons(s) for s in range(self.count))
