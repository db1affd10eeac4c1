"""The research studies of the 8-3-8 encoder, one module each.

Every study module declares NAME, DESCRIPTION, its default SEEDS (a spec) and EPOCHS, its OPTIONS ({name:
(default, parser, help)}) and ONLY_8_3_8 (why it runs at 8-3-8 only, or None); and has
    run(config) -> result      # trains and analyses: config is a studies.common.StudyConfig, result is
                               # JSON-able, with every number its report and figure need
    report(result) -> lines    # the text summary
    figure(result) -> Figure   # plots only (matplotlib is imported there, never by run)
so a study's report and figure can be redrawn from its JSON alone.
"""
from studies import biases, compare, failures, grid, margin, optimizers, plateau, predict, recipe1986, restarts

STUDIES = {module.NAME: module for module in (failures, margin, restarts, plateau, predict, biases, recipe1986, grid,
                                              compare, optimizers)}
