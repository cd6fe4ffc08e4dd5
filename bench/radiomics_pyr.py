"""PyRadiomics' default extractor on image/mask pairs (argv: pairs of paths), timed as a user
runs it: reading both files and every feature. Prints seconds in total."""
import logging
import sys
import time

from radiomics import featureextractor

logging.getLogger("radiomics").setLevel(logging.ERROR)
extractor = featureextractor.RadiomicsFeatureExtractor()
pairs = list(zip(sys.argv[1::2], sys.argv[2::2]))
t0 = time.perf_counter()
for image, mask in pairs:
    extractor.execute(image, mask)
print(f"{time.perf_counter() - t0:.3f}")
