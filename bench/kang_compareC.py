"""The Kang et al. (2015) test for two correlated C-indices, as R's compareC 1.3.3 computes it,
in numpy: written for this project from the formulas in tests/fixtures/oracles/README.md, and
checked against compareC's reference values there (`python3 bench/kang_compareC.py` does).
O(n²) over pairs, in row blocks so memory stays bounded; dag's own version is O(n log n).

compareC(time, status, y, z): a pair is concordant when the longer survivor has the HIGHER
score, so pass −risk for risk scores. Returns compareC's fields."""
import math
import numpy as np


def _pair_sign(t, d, rows):
    ti, di = t[rows, None], d[rows, None]
    tj, dj = t[None, :], d[None, :]
    plus = ((ti > tj) & (dj == 1)) | ((ti == tj) & (di == 0) & (dj == 1))
    minus = ((ti < tj) & (di == 1)) | ((ti == tj) & (di == 1) & (dj == 0))
    return plus.astype(np.float64) - minus.astype(np.float64)


def compareC(time, status, y, z, block=2048):
    t, d = np.asarray(time, float), np.asarray(status, int)
    y, z = np.asarray(y, float), np.asarray(z, float)
    n = len(t)
    names = ("A", "B", "G")
    rowsum = {k: np.zeros(n) for k in names}
    cross = {}
    for lo in range(0, n, block):
        rows = np.arange(lo, min(lo + block, n))
        k = _pair_sign(t, d, rows)
        k[np.arange(len(rows)), rows] = 0.0  # i = j is no pair
        h = {"A": k * k, "B": k * np.sign(y[rows, None] - y[None, :]), "G": k * np.sign(z[rows, None] - z[None, :])}
        for a in names:
            rowsum[a][rows] = h[a].sum(axis=1)
            for b in names:
                if a <= b:
                    cross[a + b] = cross.get(a + b, 0.0) + float((h[a] * h[b]).sum())
    nn = n * (n - 1)
    tau = {k: rowsum[k].sum() / nn for k in names}

    def cov(a, b):
        key = a + b if a <= b else b + a
        num = 4 * (rowsum[a] @ rowsum[b]) - 2 * cross[key] - 2 * (2 * n - 3) * rowsum[a].sum() * rowsum[b].sum() / nn
        return num / (nn * (n - 2) * (n - 3))

    c_y, c_z = (tau["B"] / tau["A"] + 1) / 2, (tau["G"] / tau["A"] + 1) / 2
    g_y = np.array([1 / tau["A"], -tau["B"] / tau["A"] ** 2])
    g_z = np.array([1 / tau["A"], -tau["G"] / tau["A"] ** 2])
    var_y = g_y @ np.array([[cov("B", "B"), cov("A", "B")], [cov("A", "B"), cov("A", "A")]]) @ g_y / 4
    var_z = g_z @ np.array([[cov("G", "G"), cov("A", "G")], [cov("A", "G"), cov("A", "A")]]) @ g_z / 4
    cov_yz = g_y @ np.array([[cov("B", "G"), cov("A", "B")], [cov("A", "G"), cov("A", "A")]]) @ g_z / 4
    var_diff = var_y + var_z - 2 * cov_yz
    zscore = (c_y - c_z) / math.sqrt(var_diff)
    p = math.erfc(abs(zscore) / math.sqrt(2))
    return {"est_c": np.array([c_y, c_z]), "est_diff_c": c_y - c_z, "est_vardiff_c": var_diff,
            "est_varCxy": np.array([var_y, var_z]), "est_cov": cov_yz, "zscore": zscore, "pval": p}


if __name__ == "__main__":
    # Self-check against compareC's reference on the project's oracle cohort.
    import csv, json, os
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "oracles", "stats")
    rows = list(csv.DictReader(open(os.path.join(here, "cohort_days.csv"))))
    ref = json.load(open(os.path.join(here, "cohort_days.json")))
    t = [float(r["time_days"]) for r in rows]
    e = [int(r["event"]) for r in rows]
    cols = {"dl_score": [float(r["dl_score"]) for r in rows]}
    for m, names in (("baseline", ["HR", "HER2"]), ("combined", ["HR", "HER2", "dl_score"])):
        coef = ref["cox"][m]["coef"]
        cols[m] = [sum(coef[k] * float(r[k]) for k in names) for r in rows]
    worst = 0.0
    for key, want in ref["kang"].items():
        a, b = key.split("_vs_")
        got = compareC(t, e, -np.array(cols[a]), -np.array(cols[b]))
        for field, g in (("z", got["zscore"]), ("p", got["pval"]), ("var", got["est_vardiff_c"])):
            worst = max(worst, abs(g - want[field]) / max(abs(want[field]), 1e-300))
        print(f"{key}: z {got['zscore']:.12f} (compareC {want['z']:.12f}), p {got['pval']:.3e} (compareC {want['p']:.3e})")
    print(f"largest relative difference to compareC: {worst:.1e}")
    raise SystemExit(0 if worst < 1e-9 else 1)
