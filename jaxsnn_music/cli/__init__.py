"""The ``jaxsnn-music`` command line.

One module per command group, each a thin shell around the library:

- :mod:`~jaxsnn_music.cli.corpus`: ``corpus stats``, ``corpus fetch``
- :mod:`~jaxsnn_music.cli.run`: ``run`` (the main job, end to end)
- :mod:`~jaxsnn_music.cli.memorize`: ``memorize`` (a corpus into a checkpoint)
- :mod:`~jaxsnn_music.cli.recall`, :mod:`~jaxsnn_music.cli.identify`,
  :mod:`~jaxsnn_music.cli.evaluate`: what a checkpoint remembers
- :mod:`~jaxsnn_music.cli.sweep`, :mod:`~jaxsnn_music.cli.tune`

What they share (options, corpus loading, checkpoint restoring) is in
:mod:`~jaxsnn_music.cli.options`. Every command reports a user's mistake (a bad
file, a bad config value, a missing corpus) as one line on stderr with a
non-zero exit code; tracebacks are for bugs only.
"""

from __future__ import annotations

import click

from jaxsnn_music.cli import corpus, evaluate, identify, memorize, recall, run, sweep, tune


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jaxsnn-music")
def main():
    """A spiking network that memorizes music and recalls it (Liang, Zeng & Xu 2020, in JAX)."""


for _command in (corpus.corpus, run.run, memorize.memorize, recall.recall, identify.identify,
                 evaluate.evaluate, sweep.sweep, tune.tune):
    main.add_command(_command)

__all__ = ["main"]
