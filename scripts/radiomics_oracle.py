"""Reference features for `dag radiomics`, from PyRadiomics itself.

Writes tests/fixtures/radiomics/: small volumes and masks of our own making (NIfTI), and
PyRadiomics' 107 default `original_*` features of each (expected.json). Rerun it only to
change the cases:

    python -m venv /tmp/pyr && /tmp/pyr/bin/pip install pyradiomics-bhklab==3.1.4 nibabel
    /tmp/pyr/bin/python scripts/radiomics_oracle.py

PyRadiomics reads the files through SimpleITK, exactly as a user would give them to it.
"""
import json
import os
import sys

import nibabel as nib
import numpy as np
import radiomics
from radiomics import featureextractor

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "radiomics")


def grid(shape):
    z, y, x = np.meshgrid(*[np.arange(n, dtype=float) for n in shape], indexing="ij")
    return z, y, x


def save(name, array_zyx, spacing_xyz, dtype):
    # nibabel takes (x, y, z); our arrays are (z, y, x) as SimpleITK returns them.
    data = np.ascontiguousarray(array_zyx.transpose(2, 1, 0)).astype(dtype)
    affine = np.diag([spacing_xyz[0], spacing_xyz[1], spacing_xyz[2], 1.0])
    img = nib.Nifti1Image(data, affine)
    img.header.set_data_dtype(dtype)
    path = os.path.join(OUT, name)
    nib.save(img, path)
    return path


def cases():
    rng = np.random.default_rng(20261128)
    # An ellipsoid tumour in an MRI-like int16 image with texture, on an anisotropic grid.
    shape = (18, 34, 40)
    z, y, x = grid(shape)
    inside = ((z - 9) / 6.5) ** 2 + ((y - 17) / 12) ** 2 + ((x - 20) / 14) ** 2 <= 1
    image = 400 + 6 * x + 300 * inside + rng.normal(0, 60, shape)
    yield "ellipsoid", image, inside, (0.8, 0.8, 2.0), np.int16
    # A lobulated ROI with a hole and a detached part, wide intensities (many bins).
    shape = (22, 30, 30)
    z, y, x = grid(shape)
    lobes = [((11, 15, 12), 7), ((10, 12, 19), 6), ((14, 19, 18), 5)]
    inside = np.zeros(shape, bool)
    for (cz, cy, cx), r in lobes:
        inside |= (z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2 <= r * r
    inside &= ~((z - 11) ** 2 + (y - 15) ** 2 + (x - 14) ** 2 <= 4)
    inside[3:5, 3:6, 24:27] = True
    image = 100 + 1500 * rng.random(shape) * (1 + 0.5 * np.sin(x / 2))
    yield "lobulated", image, inside, (1.0, 1.0, 1.0), np.int16
    # A ROI one slice thick (directions across slices are not generated).
    shape = (5, 24, 24)
    z, y, x = grid(shape)
    inside = (z == 2) & ((y - 12) ** 2 + (x - 11) ** 2 <= 60)
    image = 1000 + 250 * np.cos(x / 3) * np.sin(y / 4) + rng.normal(0, 40, shape)
    yield "one_slice", image, inside, (0.7, 0.7, 3.0), np.int16
    # A float32 image, as N4 writes them, with values on and near the bin edges.
    shape = (14, 20, 22)
    z, y, x = grid(shape)
    inside = ((z - 7) / 5) ** 2 + ((y - 10) / 7) ** 2 + ((x - 11) / 8) ** 2 <= 1
    image = 50 * np.round(rng.normal(8, 3, shape)) / 2 + rng.random(shape) * 0.01
    yield "float32", image, inside, (0.9, 0.9, 1.5), np.float32


def main():
    os.makedirs(OUT, exist_ok=True)
    extractor = featureextractor.RadiomicsFeatureExtractor()
    expected = {"pyradiomics": radiomics.__version__, "numpy": np.__version__, "cases": {}}
    for name, image, inside, spacing, dtype in cases():
        ipath = save(f"{name}_image.nii.gz", image, spacing, dtype)
        mpath = save(f"{name}_mask.nii.gz", inside.astype(np.uint8), spacing, np.uint8)
        result = extractor.execute(ipath, mpath)
        feats = {k: float(v) for k, v in result.items() if k.startswith("original_")}
        assert len(feats) == 107, (name, len(feats))
        expected["cases"][name] = feats
        print(name, int(inside.sum()), "voxels", file=sys.stderr)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
