"""Published figures this project is measured against, with where each comes from. Scripts print them
beside our own measurements; nothing here is ever used as a result."""

# The reference reproduction of the backprop 8-3-8 encoder (the public `hinton-problems` collection, folder
# encoder-backprop-8-3-8/): its procedure is docs/procedure.md.
BACKPROP_REFERENCE = {"seed0_stop_epoch": 3631, "seeds_0_29_solved": 21, "seeds_0_29_n": 30,
                      "seeds_0_29_cap": 20000, "min_stop_epoch": 201}

# Ackley, Hinton & Sejnowski (1985), Cognitive Science 9:147-169, Boltzmann learning.
AHS85 = {"8-3-8": {"runs": 20, "solved": 16, "cycles_cap": 4000, "median_cycles_to_7_codes": 210,
                   "median_cycles_to_8_codes": 1570},
         "4-2-4": {"runs": 250, "solved": 250, "median_cycles": 110, "max_cycles": 1810},
         # 300 cycles without the hidden units, 500 with noisy clamping (on->off 0.1, off->on 0.0025), then clean
         "40-10-40": {"completion_accuracy": 0.986, "cycles_without_hidden": 300, "noisy_cycles": 500}}

# Fahlman (1988), "An empirical study of learning speed in back-propagation networks", CMU-CS-88-162:
# average epochs to his 0.4/0.6 criterion, restarts counted in.
FAHLMAN88 = {"quickprop": {"4-2-4": 15.93, "8-3-8": 21.99, "10-5-10": 22.1, "16-4-16": 28.93, "256-8-256": 42.0},
             "quickprop_8_3_8_range": (12, 42), "quickprop_8_3_8_trials": 100,
             "quickprop_10_5_10_atanh": 14.01, "backprop": {"10-5-10": 129}}

# The published data-movement (ByteDMD) comparison of this problem: per-update costs of pure-Python kernels
# (gradient only, activations untraced) and totals = median updates to criterion x cost per update.
BYTEDMD_PUBLISHED = {"backprop_per_update": 18327, "backprop_forward_only": 6489, "backprop_median_updates": 982,
                     "backprop_total": 17997114, "boltzmann_cd1_total": 885498976,
                     "boltzmann_cd5_total": 2428590816, "boltzmann_cd1_per_update": 24641,
                     "boltzmann_cd5_per_update": 67581, "boltzmann_median_updates": 35936}
