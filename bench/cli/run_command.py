"""``bench run``: its arguments become a :class:`bench.sweep.Study`, :func:`bench.sweep.run_study`
carries it out while :class:`bench.cli.progress.RunDisplay` shows its events, and the outcome is
printed: the ``--seeds auto`` verdicts, a suite's LR range choice, a table of the runs trained."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import TYPE_CHECKING

from bench.cli.commands import SWEEP_SUMMARY, results_frame, varying_settings
from bench.cli.progress import RunDisplay
from bench.config import runs as config
from bench.report import render, terminal_text

if TYPE_CHECKING:
    from bench.sweep import Study, StudyOutcome

DISPLAY_ONLY = ("quiet",)  # bench run's options that are not the study's


def study_from_args(args: argparse.Namespace) -> Study:
    """The study ``bench run``'s arguments ask for: each option is the field of the same name
    (``--arch-arg KEY=VALUE`` texts become a dict)."""
    from bench.sweep import Study  # torch: imported when a study is run, not to parse

    values = {field.name: getattr(args, field.name) for field in dataclasses.fields(Study)}
    values["archs"] = tuple(args.archs or ())
    values["arch_args"] = dict(config.parse_arch_arg(text) for text in args.arch_args)
    return Study(**values)


def cmd_run(args: argparse.Namespace) -> int:
    """``bench run``: the study, shown as it runs, then what it decided and a table of the
    runs it trained; exit 1 when a run failed."""
    study = study_from_args(args)  # a bad value is refused here, before torch is imported
    from bench.export import tracked
    from bench.sweep import run_study

    display = RunDisplay(enabled=not args.quiet)
    sink, tracker = tracked(study.track, study.results, display)
    try:
        outcome = run_study(study, sink, exiting=args.exits_after)
    finally:
        display.close()
    for line in outcome_lines(outcome):
        print(terminal_text(line))
    if tracker is not None:
        print(tracker.describe(), file=sys.stderr if tracker.failures else sys.stdout)
    if outcome.results:
        trained = {result.run_id for result in outcome.results}
        runs = outcome.runs[outcome.runs.run_id.isin(trained)]
        columns = [*SWEEP_SUMMARY[:2], *varying_settings(runs), *SWEEP_SUMMARY[2:]]
        print(render(results_frame(runs)[columns], "table"))
    return 1 if outcome.failed else 0


def outcome_lines(outcome: StudyOutcome) -> list[str]:
    """What the study decided: ``--seeds auto``'s verdicts, the seeds each model used and where
    the rule stopped; a suite's LR range test and its retrain."""
    lines = []
    if outcome.study.adaptive:
        margin = outcome.study.margin
        lines += [f"{p.a} vs {p.b}: {p.text(margin)} (n={p.n})" for p in outcome.verdicts]
        used = ", ".join(f"{name} {n} seeds" for name, n in outcome.seeds_used.items())
        lines.append(f"--seeds auto in {outcome.store}: {used}")
        lines += [
            f"stopped: {name} seed(s) {', '.join(map(str, seeds))} did not finish ok "
            "(see `bench results`); the rule cannot go on without them"
            for name, seeds in outcome.stuck.items()
        ]
    step = outcome.lr_range
    if step is not None:
        reused = " (stored test reused)" if step.reused else ""
        if step.retrain is None:
            lines.append(f"LR range test {step.test_id}{reused}: every LR diverged; no retrain")
        else:
            lines.append(
                f"LR range test {step.test_id}{reused}: chosen lr {step.chosen_lr:g} "
                f"(lowest validation loss); retrain: {step.retrain.describe()}"
            )
    return lines
