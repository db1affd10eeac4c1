#!/usr/bin/env python3
"""The deterministic, local learning rules of the N-H-N encoder from the command line: contrastive Hebbian
learning and the three GeneRec rules on O'Reilly's (1996) settling network, Hinton & McClelland's (1988)
recirculation, and deterministic Boltzmann (mean-field) learning. The learners are local_learners.py; this file is
their CLI (learner_cli), with the published 4-2-4 figures printed beside ours. docs/local_rules.md has the
settings and our measurements.

    python3 encoder_local_8_3_8.py --rule generec --size 4-2-4 --seeds 0-199 --criterion sse
    python3 encoder_local_8_3_8.py --rule recirculation --size 4-2-4 --seeds 0-199 --criterion within
    python3 encoder_local_8_3_8.py --rule chl --seeds 0-999
"""
import sys

import learner_cli
from cli_support import run_main

RULES = ["chl", "generec", "generec-mid", "generec-sym", "recirculation", "mean-field"]

# O'Reilly (1996) Table 5, 4-2-4 encoder: 50 networks, SSE < 0.1, cap 5000 epochs (lr, solved, mean epochs, SEM);
# Hinton & McClelland (1988): 100 simulations, every output within 0.1, mean 48 updates, maximum 202.
PUBLISHED = {"chl": "O'Reilly 1996 Table 5 (4-2-4, SSE < 0.1): lr 1.20, 28/50 solved in 77 +- 1.8 epochs",
             "generec": "O'Reilly 1996 Table 5 (4-2-4, SSE < 0.1): lr 0.60, 45/50 solved in 418 +- 28 epochs",
             "generec-mid": "O'Reilly 1996 Table 5 (4-2-4, SSE < 0.1): lr 2.40, 46/50 solved in 60 +- 3.4 epochs",
             "generec-sym": "O'Reilly 1996 Table 5 (4-2-4, SSE < 0.1): lr 1.40, 28/50 solved in 88 +- 2.9 epochs",
             "recirculation": "Hinton & McClelland 1988 (4-2-4, every output within 0.1): mean 48 updates, max 202, "
                              "100 simulations"}


def published(rule, size):
    return f"published: {PUBLISHED[rule]}" if size == "4-2-4" and rule in PUBLISHED else None


def main(argv=None):
    return learner_cli.main(argv, prog="encoder_local_8_3_8.py", rules=RULES, notes=published,
                            description="Train the N-H-N encoder (8-3-8 by default) by a deterministic, local "
                                        "learning rule: CHL, GeneRec (three forms), recirculation or mean-field "
                                        "Boltzmann learning; one seed or a sweep.")


if __name__ == "__main__":
    sys.exit(run_main(main))
