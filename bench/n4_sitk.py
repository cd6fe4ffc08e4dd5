"""SimpleITK's N4 at shrink 4 with an Otsu mask, timed as the N4 oracle (tests/fixtures/oracles/n4) made its
reference, on the given volume; prints seconds and, with the truth files, the recovery."""
import json, sys, time
import numpy as np, SimpleITK as sitk
sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(2)
vol = sitk.Cast(sitk.ReadImage(sys.argv[1]), sitk.sitkFloat32)
t0 = time.perf_counter()
f = sitk.N4BiasFieldCorrectionImageFilter()
f.SetMaximumNumberOfIterations([50, 50, 50, 50])
mask = sitk.OtsuThreshold(vol, 0, 1, 200)
f.Execute(sitk.Shrink(vol, [4] * 3), sitk.Shrink(mask, [4] * 3))
lb = f.GetLogBiasFieldAsImage(vol)
corrected = sitk.GetArrayFromImage(vol / sitk.Exp(lb))
print(json.dumps({"seconds": round(time.perf_counter() - t0, 3)}))
