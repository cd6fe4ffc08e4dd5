# Reads the GPU runs' results (see run.sh): eval.py det RUNS… | choose CONFIGS… | judge CONFIG
import json, re, statistics, sys, collections
def summ(run):
    try: return json.load(open(f"r-{run}/report/summary.json"))["models"]
    except Exception: return None
def times(run):
    t = collections.defaultdict(float)
    try:
        for l in open(f"log-{run}.txt"):
            m = re.search(r"\] done (\w+)(\[[^\]]*\])? \(([0-9.]+) s\)", l)
            if m: t[m.group(1)] += float(m.group(3))
    except Exception: pass
    return dict(t)
def ms(v): return f"{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}" if len(v) > 1 else (f"{v[0]:.3f}" if v else "—")
mode, args = sys.argv[1], sys.argv[2:]
if mode == "det":
    for n in args:
        try:
            t = json.load(open(f"r-{n}/scores/training.json"))
            print(n, "device", sorted({f["device"] for f in t}), "tf32", sorted({f["tf32"] for f in t}), "deterministic", sorted({str(f.get("deterministic")) for f in t}))
            print("  network per fold ", [round(f["test_c_index"]["dl_score"], 6) for f in t])
            print("  probe per fold   ", [round(f["test_c_index"]["logistic_score"], 6) for f in t])
            print("  train loss, last epoch per fold", [f["history"][-1]["train_loss"] for f in t])
            tm = times(n); print("  node seconds (summed):", {k: round(v, 1) for k, v in sorted(tm.items(), key=lambda kv: -kv[1])[:5]})
        except Exception as e:
            print(n, "no result:", e)
    sys.exit()
def row(run):
    m = summ(run)
    if m is None: return None
    return {k: m[k]["pooled"]["harrell_c"] for k in ("network", "logistic", "truth")}
if mode == "choose":
    best = None
    print("| config | seed | network | probe | truth | net−probe | truth−net | train s |")
    for c in args:
        net = []
        for s in (1, 2):
            r = row(f"s{s}-{c}")
            if r is None: print(f"| {c} | {s} | missing |"); continue
            net.append(r["network"])
            print(f"| {c} | {s} | {r['network']:.3f} | {r['logistic']:.3f} | {r['truth']:.3f} | {r['network']-r['logistic']:+.3f} | {r['truth']-r['network']:+.3f} | {times(f's{s}-{c}').get('train', 0):.0f} |")
        if len(net) == 2:
            mean = statistics.mean(net)
            print(f"{c} mean network C over seeds 1, 2: {ms(net)}")
            if best is None or mean > best[1]: best = (c, mean)
    print("chosen", best[0] if best else "L10")
if mode == "judge":
    c = args[0]; d = []; g = []; nets = []
    print(f"| seed | {c}: network | probe | truth | net−probe | truth−net |")
    for s in (3, 4, 5, 6, 7):
        r = row(f"s{s}-{c}")
        if r is None: print(f"| {s} | missing |"); continue
        nets.append(r["network"]); d.append(r["network"] - r["logistic"]); g.append(r["truth"] - r["network"])
        print(f"| {s} | {r['network']:.3f} | {r['logistic']:.3f} | {r['truth']:.3f} | {d[-1]:+.3f} | {g[-1]:+.3f} |")
    print(f"network {ms(nets)}; network − probe {ms(d)}; truth − network {ms(g)}")
