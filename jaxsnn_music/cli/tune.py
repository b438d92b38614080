"""``jaxsnn-music tune``: tune a memorized network's thresholds and delays (resumable).

A thin shell around :func:`jaxsnn_music.tune.tune`: it loads the checkpoint
(:func:`jaxsnn_music.api.load`), reads the memorized pieces again from the sources
it lists (:func:`jaxsnn_music.api.memorized_pieces`), runs (or resumes) the optax
run into ``--out`` and prints the held-out scores of the paper's parameters and the
tuned ones, side by side, from the plain simulator.
"""

from __future__ import annotations

from pathlib import Path

import click

from jaxsnn_music import api
from jaxsnn_music.cli.options import (cache_dir_option, checkpoint_option, load_network,
                                      output_folder, parse_cache, quiet_option, report_skip,
                                      set_option, user_errors)


@click.command("tune")
@checkpoint_option
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML file of config sections on top of the checkpoint's (tune.*).")
@set_option(help="Override one config value, e.g. --set tune.steps=300 (repeatable).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="The run folder, e.g. checkpoints/NAME-tuned.")
@click.option("--restart", is_flag=True,
              help="Delete an earlier run in OUT and start over (otherwise it is resumed).")
@cache_dir_option(help="Parse cache folder.")
@quiet_option(help="No progress messages.")
@user_errors
def tune(checkpoint, config_path, overrides, out, restart, cache_dir, quiet):
    """Tune firing thresholds and synaptic delays by surrogate gradients so that cued recall
    survives a perturbed cue (timing jitter, dropped and extra spikes; see the tune.* config
    keys). The memorized weights are not changed. Writes OUT/result.json and orbax
    checkpoints of the parameters to OUT/state (an interrupted run resumes)."""
    from jaxsnn_music.tune import tune as run

    network, cfg = load_network(checkpoint, overrides, config_path)
    output_folder(out)
    pieces = api.memorized_pieces(network, cfg, cache=parse_cache(cache_dir), progress=not quiet,
                                  on_skip=report_skip)
    say = (lambda _: None) if quiet else (lambda line: click.echo(line, err=True))
    result = run(network, pieces, cfg, out, source_checkpoint=str(Path(checkpoint).resolve()),
                 restart=restart, progress=say)
    t = cfg.tune
    click.echo(f"tuned {t.steps} steps in {result['train_seconds']:.0f} s on "
               f"{result['train_titles']} titles; held-out cues ({result['held_out_titles']} titles, "
               f"{t.eval_cues} cues x {t.eval_columns} columns, plain simulator):")
    for cond in ("perturbed", "clean"):
        paper, tuned = (result["held_out"][k][cond] for k in ("paper", "tuned"))
        click.echo(f"  {cond:>9}: pitch {paper['pitch']:.1%} -> {tuned['pitch']:.1%}, duration "
                   f"{paper['duration']:.1%} -> {tuned['duration']:.1%} (paper -> tuned)")
    click.echo(f"-> {out}")
