"""PyRadiomics' default extractor on image/mask pairs (argv: pairs of paths, or --batch CSV
with columns Image and Mask relative to the CSV's folder, as PyRadiomics' own batch mode),
timed as a user runs it: reading both files and every feature. Prints seconds in total."""
import csv
import logging
import os
import sys
import time

from radiomics import featureextractor

logging.getLogger("radiomics").setLevel(logging.ERROR)
extractor = featureextractor.RadiomicsFeatureExtractor()
if sys.argv[1] == "--batch":
    base = os.path.dirname(sys.argv[2])
    with open(sys.argv[2]) as f:
        pairs = [(os.path.join(base, r["Image"]), os.path.join(base, r["Mask"])) for r in csv.DictReader(f)]
else:
    pairs = list(zip(sys.argv[1::2], sys.argv[2::2]))
t0 = time.perf_counter()
for image, mask in pairs:
    extractor.execute(image, mask)
print(f"{time.perf_counter() - t0:.3f}")
