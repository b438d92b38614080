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
file, a bad config value, a missing corpus, an option click cannot parse) as one
line on stderr; tracebacks are for bugs only. Exit codes: 0 all input used, 1
some input skipped (each named on stderr, the rest done), 2 nothing done (a user
error, or nothing usable).
"""

from __future__ import annotations

import sys

import click

from jaxsnn_music.cli import corpus, evaluate, identify, memorize, recall, run, sweep, tune


class _Commands(click.Group):
    """The command group, whose usage errors (a missing option, a value of the wrong type)
    are one line on stderr like every other error, with exit code 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else (prog_name or "jaxsnn-music")
            message = " ".join(exc.format_message().split())
            click.echo(f"error: {message} (see {where} --help)", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        # An int is the code of ctx.exit(code) (--help, --version); commands return None.
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jaxsnn-music")
def main():
    """A spiking network that memorizes music and recalls it (Liang, Zeng & Xu 2020, in JAX)."""


for _command in (corpus.corpus, run.run, memorize.memorize, recall.recall, identify.identify,
                 evaluate.evaluate, sweep.sweep, tune.tune):
    main.add_command(_command)

__all__ = ["main"]
