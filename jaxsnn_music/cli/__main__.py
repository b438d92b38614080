"""``python -m jaxsnn_music.cli``: the same as the ``jaxsnn-music`` command."""

from jaxsnn_music.cli import main

main(prog_name="jaxsnn-music")
