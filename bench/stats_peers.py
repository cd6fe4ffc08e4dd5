"""Times lifelines, scikit-survival and a numpy port of compareC (bench/kang_compareC.py) on the cohorts that
benches/survival.rs wrote, and checks they agree with dag's values. Prints JSON."""
import json, os, sys, time
import numpy as np
import pandas as pd

out = sys.argv[1]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/kang_compareC.py

def best(reps, f):
    t = []
    for _ in range(reps):
        t0 = time.perf_counter(); r = f(); t.append(time.perf_counter() - t0)
    return min(t), r

res = {}
big = pd.read_csv(f"{out}/cohort_100000.csv")
mid = pd.read_csv(f"{out}/cohort_20000.csv")

from lifelines import CoxPHFitter
from lifelines.utils import concordance_index
res["lifelines_harrell_c_100000"], c = best(3, lambda: concordance_index(big.time, -big.score, big.event))
res["check_lifelines_harrell_c_100000"] = c
cph = CoxPHFitter()
res["lifelines_cox_efron_3cov_100000"], _ = best(2, lambda: cph.fit(big[["time", "event", "HR", "HER2", "z"]], "time", "event"))

from sksurv.metrics import concordance_index_censored
res["sksurv_harrell_c_100000"], r = best(1, lambda: concordance_index_censored(big.event.astype(bool).values, big.time.values, big.score.values))
res["check_sksurv_harrell_c_100000"] = r[0]

if "--kang" in sys.argv:
    from kang_compareC import compareC
    res["compareC_numpy_port_kang_20000"], k = best(1, lambda: compareC(mid.time.values, mid.event.values, -mid.score.values, -mid.z.values))
    res["check_compareC_kang_20000_z"] = float(k["zscore"])
print(json.dumps(res))
