"""The same work as `dag-torch bench`, in PyTorch with torchvision's DenseNet121: the frozen
prefix (up to the input of denseblock4.denselayer11) on N random 224x224 crops one at a time,
30 epochs of the unfrozen tail (denselayer11-16, norm5, a one-output head) with Adam and
class-weighted BCE on 80% of the patients (a fifth of them for validation, evaluated every
epoch), and the held-out fifth scored at the end. Prints one JSON line. Arguments: patients,
epochs, threads and optionally the device (cpu, the default, or cuda:N)."""
import json, resource, sys, time

import torch
import torch.nn.functional as F
import torchvision

patients, epochs, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
device = torch.device(sys.argv[4] if len(sys.argv) > 4 else "cpu")
# CUDA runs asynchronously: a timer is read only after the queued kernels have finished.
sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
torch.set_num_threads(threads)
torch.manual_seed(0)
net = torchvision.models.densenet121(weights=None)
net.classifier = torch.nn.Linear(1024, 1)
net.to(device)
f = net.features
block4 = list(f.denseblock4.children())


def prefix(x):
    for name in ["conv0", "norm0", "relu0", "pool0", "denseblock1", "transition1", "denseblock2", "transition2", "denseblock3", "transition3"]:
        x = getattr(f, name)(x)
    feats = [x]
    for layer in block4[:10]:
        feats.append(layer(feats))
    return torch.cat(feats, 1)


def tail(x):
    feats = [x]
    for layer in block4[10:]:
        feats.append(layer(feats))
    x = f.norm5(torch.cat(feats, 1))
    return net.classifier(torch.flatten(F.adaptive_avg_pool2d(F.relu(x), 1), 1)).squeeze(1)


trainable = [p for m in block4[10:] + [f.norm5, net.classifier] for p in m.parameters()]
for p in net.parameters():
    p.requires_grad_(False)
for p in trainable:
    p.requires_grad_(True)
net.eval()

crops = [torch.randn(1, 3, 224, 224) for _ in range(patients)]
start = time.perf_counter()
with torch.no_grad():
    feats = torch.cat([prefix(c.to(device)) for c in crops])
sync()
prefix_s = time.perf_counter() - start

events = torch.tensor([float(i % 4 == 0) for i in range(patients)], device=device)
n_test, n_val = patients // 5, patients * 4 // 25
tr, va = slice(n_test + n_val, None), slice(n_test, n_test + n_val)
pos_weight = ((1 - events[tr]).sum() / events[tr].sum()).reshape(1)
opt = torch.optim.Adam(trainable, lr=1e-3, weight_decay=1e-4)
modules = block4[10:] + [f.norm5]
start = time.perf_counter()
x_tr, y_tr = feats[tr], events[tr]
for epoch in range(epochs):
    for m in modules:
        m.train()
    for g in opt.param_groups:
        g["lr"] = 1e-3 * 0.5 * (1 + torch.cos(torch.tensor(torch.pi * epoch / epochs)).item())
    order = torch.randperm(len(x_tr))
    for b in range(0, len(order), 16):
        idx = order[b:b + 16].to(device)
        loss = F.binary_cross_entropy_with_logits(tail(x_tr[idx]), y_tr[idx], pos_weight=pos_weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
    for m in modules:
        m.eval()
    with torch.no_grad():
        F.binary_cross_entropy_with_logits(tail(feats[va]), events[va], pos_weight=pos_weight)
with torch.no_grad():
    tail(feats[:n_test]).cpu()
tail_s = time.perf_counter() - start
gpu = {"gpu_peak_mb": torch.cuda.max_memory_allocated(device) / 2**20} if device.type == "cuda" else {}
print(json.dumps({"patients": patients, "threads": threads, "device": str(device), "epochs": epochs, "torch": torch.__version__, **gpu,
                  "prefix_s": prefix_s, "prefix_ms_per_image": 1e3 * prefix_s / patients,
                  "tail_s": tail_s, "tail_s_per_epoch": tail_s / epochs,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
