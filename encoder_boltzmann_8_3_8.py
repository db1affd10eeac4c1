#!/usr/bin/env python3
"""Boltzmann learning of the N-H-N encoder from the command line: the 1985 procedure (`--rule ahs85`) or the
public CD-k recipe (`--rule cdk`, the default). The learners are boltzmann_learners.py; this file is their CLI
(learner_cli), with the published 1985 figures printed beside ours.

    python3 encoder_boltzmann_8_3_8.py --rule cdk --seeds 0-19
    python3 encoder_boltzmann_8_3_8.py --rule ahs85 --seeds 0-19
    python3 encoder_boltzmann_8_3_8.py --rule ahs85 --size 4-2-4 --seeds 0-49
"""
import sys

import learner_cli
from cli_support import run_main
from published_figures import AHS85 as PUBLISHED_AHS85


def published(rule, size):
    figures = PUBLISHED_AHS85.get(size) if rule == "ahs85" else None
    if figures:
        return "published (Ackley, Hinton & Sejnowski 1985): " + ", ".join(f"{k} {v}" for k, v in figures.items())
    return None


def main(argv=None):
    return learner_cli.main(argv, prog="encoder_boltzmann_8_3_8.py", rules=["cdk", "ahs85"], notes=published,
                            description="Train the N-H-N encoder (8-3-8 by default) by Boltzmann learning: the "
                                        "1985 procedure (ahs85) or the CD-k recipe (cdk); one seed or a sweep.")


if __name__ == "__main__":
    sys.exit(run_main(main))
