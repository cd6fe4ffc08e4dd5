#!/usr/bin/env python3
"""Exports torchvision's ImageNet-pretrained DenseNet121 to safetensors for dag.

Needs internet access once (torchvision downloads the weights) and
`pip install torch torchvision safetensors`. Usage:

    python3 scripts/export_densenet121.py densenet121_imagenet.safetensors
    dag model logits --weights densenet121_imagenet.safetensors --input x.npy   # check it

The state dict is saved as it is (torchvision's names, e.g.
features.denseblock1.denselayer1.norm1.weight); dag also accepts the legacy `norm.1` names.
"""
import sys

import torch
import torchvision
from safetensors.torch import save_file


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    model = torchvision.models.densenet121(weights=torchvision.models.DenseNet121_Weights.IMAGENET1K_V1)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, sys.argv[1], metadata={"source": "torchvision densenet121 IMAGENET1K_V1", "torchvision": torchvision.__version__})
    print(f"wrote {len(state)} tensors to {sys.argv[1]}")


if __name__ == "__main__":
    main()
