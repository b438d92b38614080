"""Read-outs: from a window's spikes to the value a column recalls.

A window reports, per neuron, the interpolated time of its first spike and its
spike count (:class:`~jaxsnn_music.recall.simulate.ColumnOutput`). A read-out
turns these into the recalled value. The same modules run on the host (NumPy,
after a simulation) and inside the compiled scan (JAX, when only the read-out
is passed on to later columns, ``recall.propagate = readout``):

- :class:`FirstSpike` (the paper): the neuron that crosses threshold first. Two
  neurons crossing in the same step are ordered by their interpolated crossing
  times; exact ties go to the neuron that fired more, then to the lower index.
- :class:`Rate`: the neuron that fires most; ties go to the earlier first spike,
  then to the lower index.

:class:`ColumnReadOut` adds chords (``encoding.chords = all``): a column's chord
is the *set* of neurons of its first volley (first spike within ``volley_ms``
of the column's first spike) or of every neuron that fired in the window.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from jaxsnn_music.config import Config

SILENT = -1
"""The value of a column in which no neuron fired."""


def _xp(x):
    return jnp if isinstance(x, jax.Array) else np


class ReadOut(eqx.Module):
    """Which single neuron a column recalls."""

    @abc.abstractmethod
    def __call__(self, first, count):
        """**Arguments:** ``first`` (interpolated first-spike times, ``inf`` = none) and
        ``count`` (spikes), ``[..., neurons]``, NumPy or JAX.

        **Returns:** the recalled neuron ``[...]`` (``SILENT`` where none fired)."""

    @staticmethod
    def from_config(cfg: Config) -> ReadOut:
        return Rate() if cfg.recall.readout == "rate" else FirstSpike()


def _pick(xp, first_key, second_key, fired):
    """Index of the lexicographic minimum of (first_key, second_key, index) per row."""
    best = first_key.min(axis=-1, keepdims=True)
    tied = first_key == best
    second = xp.where(tied, second_key, xp.inf)
    tied = tied & (second == second.min(axis=-1, keepdims=True))
    return xp.where(fired, xp.argmax(tied, axis=-1), SILENT)


class FirstSpike(ReadOut):
    """The first neuron to spike (the paper's read-out)."""

    def __call__(self, first, count):
        xp = _xp(first)
        return _pick(xp, first, -count.astype(xp.float32), xp.isfinite(first.min(axis=-1)))


class Rate(ReadOut):
    """The neuron that fires most."""

    def __call__(self, first, count):
        xp = _xp(first)
        return _pick(xp, -count.astype(xp.float32), first, count.max(axis=-1) > 0)


class ColumnReadOut(eqx.Module):
    """The set of neurons a column recalls: its chord, or its single read-out neuron."""

    value: ReadOut
    chords: bool = eqx.field(static=True)
    """Read a set (``encoding.chords = all``) rather than the single ``value`` neuron."""
    window: bool = eqx.field(static=True)
    """The set is every neuron that fired (``chord_readout = window``), not the first volley."""
    volley_steps: float = eqx.field(static=True)

    @staticmethod
    def from_config(cfg: Config, chords: bool | None = None) -> ColumnReadOut:
        """The read-out of pitch columns (chords as ``encoding.chords`` says), or with
        ``chords=False`` of duration columns."""
        chords = cfg.encoding.chords == "all" if chords is None else chords
        return ColumnReadOut(ReadOut.from_config(cfg), chords,
                             cfg.recall.chord_readout == "window",
                             cfg.recall.volley_ms / cfg.network.dt_ms)

    def __call__(self, first, count):
        """**Returns:** ``[..., neurons]`` bool, the recalled set."""
        xp = _xp(first)
        if not self.chords:
            value = self.value(first, count)
            return (xp.arange(first.shape[-1]) == value[..., None]) & (value[..., None] >= 0)
        if self.window:
            return count > 0
        earliest = first.min(axis=-1, keepdims=True)
        fired = xp.isfinite(first)
        return fired & (xp.where(fired, first, 0.0) - earliest <= self.volley_steps)
