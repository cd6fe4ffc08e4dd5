#!/usr/bin/env bash
# #18's last GPU check, as far as this session's device time allows: the study at real size
# (each site's own volumes) on the GPU machine, on a subset of patients.
set -u
# Binaries built against the device's own libtorch (BENCHMARKS.md, "On CUDA"): ${GPU_BIN:-.gpu}.
B=$(cd "${GPU_BIN:-.gpu}" && pwd)
TL=$(python3 -c "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))")
export LD_LIBRARY_PATH=$TL:${LD_LIBRARY_PATH:-} DAG_TORCH=$B/dag-torch
chmod +x $B/dag $B/dag-torch; OUT=${OUT:-/tmp/gpu-out}; mkdir -p $OUT
cp pipelines/study.yaml /tmp/s.yaml; cd /tmp
t0=$(date +%s)
timeout ${LIMIT:-190} /usr/bin/time -f "%e s wall, %M KB peak RSS (dag itself)" $B/dag run s.yaml --cache c-real --results r-real --progress plain --set volume_size=real --set patients=${N:-120} --set bootstrap=10 > log-real.txt 2>&1; echo "real rc $? $(( $(date +%s) - t0 )) s"
tail -4 log-real.txt
du -sh c-real
python3 - <<'PY'
import re,collections
t=collections.defaultdict(float); n=collections.Counter()
for l in open('/tmp/log-real.txt'):
    m=re.search(r'\] done (\w+)(\[[^\]]*\])? \(([0-9.]+) s\)',l)
    if m: t[m.group(1)]+=float(m.group(3)); n[m.group(1)]+=1
for k in sorted(t,key=lambda k:-t[k]): print(f"{k:12s} {n[k]:4d} {t[k]:8.1f} s")
PY
python3 -c "
import json;t=json.load(open('/tmp/r-real/scores/training.json'));print('train devices', sorted({f['device'] for f in t}), 'per-fold C', [round(f['test_c_index']['dl_score'],3) for f in t])" 2>&1
cp log-real.txt $OUT/; cp r-real/report/report.txt $OUT/report-real.txt 2>/dev/null; true
