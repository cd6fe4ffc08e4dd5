//! DenseNet121 (Huang et al. 2017) with torchvision's module and parameter names, so that
//! `features.denseblock1.denselayer1.norm1.weight` here is the same tensor as there.

use tch::nn::{self, ModuleT};
use tch::Tensor;

/// Dense layers per block, growth rate, bottleneck width factor, stem width.
pub const BLOCKS: [usize; 4] = [6, 12, 24, 16];
const GROWTH: i64 = 32;
const BN_SIZE: i64 = 4;
const STEM: i64 = 64;

/// The optimiser's parameter group of the classifier (everything else is group 0).
pub const HEAD_GROUP: usize = 1;

/// Weighted layers: 120 convolutions and the classifier. "Top 10% unfrozen" counts these.
pub const LAYERS: usize = 121;

// torchvision's initialisation (kaiming_normal_ for convolutions, BN weight 1 and bias 0), so
// a network trained from scratch starts where a PyTorch user's would.
fn conv(p: nn::Path, cin: i64, cout: i64, k: i64, stride: i64, padding: i64) -> nn::Conv2D {
    let ws_init = nn::Init::Kaiming { dist: nn::init::NormalOrUniform::Normal, fan: nn::init::FanInOut::FanIn, non_linearity: nn::init::NonLinearity::ReLU };
    nn::conv2d(p, cin, cout, k, nn::ConvConfig { stride, padding, bias: false, ws_init, ..Default::default() })
}

fn bn(p: nn::Path, c: i64) -> nn::BatchNorm {
    nn::batch_norm2d(p, c, nn::BatchNormConfig { ws_init: nn::Init::Const(1.), ..Default::default() })
}

#[derive(Debug)]
struct DenseLayer {
    norm1: nn::BatchNorm,
    conv1: nn::Conv2D,
    norm2: nn::BatchNorm,
    conv2: nn::Conv2D,
}

impl DenseLayer {
    fn new(p: &nn::Path, cin: i64) -> DenseLayer {
        DenseLayer {
            norm1: bn(p / "norm1", cin),
            conv1: conv(p / "conv1", cin, BN_SIZE * GROWTH, 1, 1, 0),
            norm2: bn(p / "norm2", BN_SIZE * GROWTH),
            conv2: conv(p / "conv2", BN_SIZE * GROWTH, GROWTH, 3, 1, 1),
        }
    }
}

#[derive(Debug)]
struct Transition {
    norm: nn::BatchNorm,
    conv: nn::Conv2D,
}

/// One step of the feature extractor, in torchvision's order.
#[derive(Debug)]
enum Unit {
    Stem { conv0: nn::Conv2D, norm0: nn::BatchNorm },
    Layer(Box<DenseLayer>),
    Transition(Transition),
    Norm5(nn::BatchNorm),
}

/// The same (N, C, H, W) tensor stored channels-last (NHWC strides). libtorch's CPU
/// convolutions are about 20% faster on it, and the layout then carries through batch norm,
/// ReLU, concatenation and pooling. tch has no memory-format API, hence the permutes.
pub fn channels_last(x: &Tensor) -> Tensor {
    if x.dim() == 4 { x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2]) } else { x.shallow_clone() }
}

/// ReLU and global average pooling, (N, C, H, W) → (N, C), as torchvision's head does it with
/// adaptive_avg_pool2d. The mean is taken over the (N, H, W, C) view: adaptive_avg_pool2d's
/// backward hands its gradient back in NCHW order, and against the channels-last feature map
/// that made ReLU's and norm5's backward kernels as slow as all other ReLUs of the tail
/// together (a strided loop instead of a vectorised one).
fn global_pool(x: &Tensor) -> Tensor {
    x.relu().permute([0, 2, 3, 1]).mean_dim(&[1i64, 2][..], false, None)
}

/// Where "the top N layers unfrozen" cuts the network.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Split {
    /// How many weighted layers train, counted from the classifier backwards.
    pub trainable_layers: usize,
    /// Index (0-based, in forward order) of the first trainable weighted layer.
    pub first_trainable: usize,
    /// The unit the frozen prefix stops before: its input is the cached feature map. A dense
    /// layer is never split, so a cut inside one starts the tail at the whole layer (its
    /// frozen half then runs in the tail, in eval mode, without gradients).
    pub cut_unit: usize,
    pub cut_name: String,
}

#[derive(Debug)]
pub struct DenseNet121 {
    /// (name, unit): `stem`, `denseblock1.denselayer1`, …, `transition1`, …, `norm5`.
    units: Vec<(String, Unit)>,
    /// Index of each unit's first weighted layer (norm5 belongs with the classifier).
    layer_start: Vec<usize>,
    pub classifier: nn::Linear,
    /// Variable-name prefix (`features.denseblock4.denselayer11.conv1`) → weighted layer.
    layer_of: Vec<(String, usize)>,
    /// Batch norms of layers before this index stay in eval mode even when training.
    first_trainable: usize,
}

impl DenseNet121 {
    /// Creates the network's variables under `root` (`features.*`, `classifier.*`).
    pub fn new(root: &nn::Path, classes: i64) -> DenseNet121 {
        let f = root / "features";
        let mut units = vec![(
            "stem".to_owned(),
            Unit::Stem { conv0: conv(&f / "conv0", 3, STEM, 7, 2, 3), norm0: bn(&f / "norm0", STEM) },
        )];
        let mut layer_of = vec![("features.conv0".to_owned(), 0), ("features.norm0".to_owned(), 0)];
        let mut layer_start = vec![0];
        let mut next = 1;
        let mut c = STEM;
        for (b, &layers) in BLOCKS.iter().enumerate() {
            let block = &f / format!("denseblock{}", b + 1);
            for l in 0..layers {
                let name = format!("denseblock{}.denselayer{}", b + 1, l + 1);
                for (part, offset) in [("norm1", 0), ("conv1", 0), ("norm2", 1), ("conv2", 1)] {
                    layer_of.push((format!("features.{name}.{part}"), next + offset));
                }
                layer_start.push(next);
                next += 2;
                units.push((name, Unit::Layer(Box::new(DenseLayer::new(&(&block / format!("denselayer{}", l + 1)), c)))));
                c += GROWTH;
            }
            if b + 1 < BLOCKS.len() {
                let name = format!("transition{}", b + 1);
                let t = &f / &name;
                layer_of.push((format!("features.{name}.norm"), next));
                layer_of.push((format!("features.{name}.conv"), next));
                layer_start.push(next);
                next += 1;
                units.push((name, Unit::Transition(Transition { norm: bn(&t / "norm", c), conv: conv(&t / "conv", c, c / 2, 1, 1, 0) })));
                c /= 2;
            }
        }
        debug_assert_eq!(next, LAYERS - 1);
        layer_of.push(("features.norm5".to_owned(), next));
        layer_of.push(("classifier".to_owned(), next));
        layer_start.push(next);
        units.push(("norm5".to_owned(), Unit::Norm5(bn(&f / "norm5", c))));
        let head = nn::LinearConfig { bs_init: Some(nn::Init::Const(0.)), ..Default::default() };
        // The head is the optimiser's group HEAD_GROUP, so that it may learn at its own rate.
        let classifier = nn::linear((root / "classifier").set_group(HEAD_GROUP), c, classes, head);
        DenseNet121 { units, layer_start, classifier, layer_of, first_trainable: 0 }
    }

    /// The cut for training the last ceil(fraction · 121) weighted layers (at least the classifier).
    pub fn split(&self, unfreeze_fraction: f64) -> Split {
        // The epsilon keeps e.g. 0.1 · 121 = 12.100000000000001 and 13/121 · 121 from rounding up wrongly.
        let n = ((unfreeze_fraction.clamp(0.0, 1.0) * LAYERS as f64) - 1e-9).ceil().max(1.0) as usize;
        let first = LAYERS - n.min(LAYERS);
        let cut_unit = self.layer_start.iter().rposition(|&s| s <= first).unwrap_or(0);
        Split { trainable_layers: n.min(LAYERS), first_trainable: first, cut_unit, cut_name: self.units[cut_unit].0.clone() }
    }

    /// Stores every convolution kernel channels-last too (the layout libtorch then keeps).
    pub fn kernels_channels_last(vs: &nn::VarStore) {
        tch::no_grad(|| {
            for (name, mut t) in vs.variables() {
                if t.dim() == 4 && name.ends_with(".weight") {
                    t.set_data(&channels_last(&t));
                }
            }
        });
    }

    /// Freezes everything before the split: those variables get no gradient and their batch
    /// norms stay in eval mode; the rest train.
    pub fn apply_split(&mut self, vs: &nn::VarStore, split: &Split) {
        self.first_trainable = split.first_trainable;
        for (name, t) in vs.variables() {
            // Running means and variances are buffers, never trainable.
            if !(name.ends_with(".weight") || name.ends_with(".bias")) {
                continue;
            }
            let prefix = name.rsplit_once('.').map_or(name.as_str(), |(p, _)| p);
            let layer = self.layer_of.iter().find(|(p, _)| p == prefix).map_or(0, |(_, l)| *l);
            let _ = t.set_requires_grad(layer >= split.first_trainable);
        }
    }

    fn unit_t(&self, i: usize, x: &Tensor, train: bool) -> Tensor {
        let start = self.layer_start[i];
        // A batch norm trains only where its own layer does. ReLU runs in place on the batch
        // norm's fresh output, as torchvision's `ReLU(inplace=True)`: batch norm's backward
        // needs its input, not its output, and one activation-sized pass and buffer fewer
        // per ReLU is ~6% of a training step of the tail.
        let bn_train = |layer: usize| train && layer >= self.first_trainable;
        match &self.units[i].1 {
            Unit::Stem { conv0, norm0 } => x.apply(conv0).apply_t(norm0, bn_train(start)).relu_().max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false),
            Unit::Layer(l) => {
                let y = x.apply_t(&l.norm1, bn_train(start)).relu_().apply(&l.conv1).apply_t(&l.norm2, bn_train(start + 1)).relu_().apply(&l.conv2);
                Tensor::cat(&[x, &y], 1)
            }
            // A true average (torchvision's nn.AvgPool2d(2, 2)), not a sum.
            Unit::Transition(t) => x.apply_t(&t.norm, bn_train(start)).relu_().apply(&t.conv).avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None),
            Unit::Norm5(n) => x.apply_t(n, bn_train(start)),
        }
    }

    fn units_t(&self, range: std::ops::Range<usize>, x: &Tensor, train: bool) -> Tensor {
        let mut x = channels_last(x);
        for i in range {
            x = self.unit_t(i, &x, train);
        }
        x
    }

    /// The feature maps after `norm5` (before the final ReLU), as torchvision's `features`.
    pub fn features_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.units_t(0..self.units.len(), x, train)
    }

    /// The frozen prefix: the input of unit `split.cut_unit`, computed in eval mode.
    pub fn prefix(&self, x: &Tensor, split: &Split) -> Tensor {
        tch::no_grad(|| self.units_t(0..split.cut_unit, x, false))
    }

    /// From the cut's feature map to the logits.
    pub fn tail_t(&self, x: &Tensor, split: &Split, train: bool) -> Tensor {
        self.tail_dropout_t(x, split, train, 0.0)
    }

    /// The tail with dropout of rate `p` on the pooled features before the head, in training
    /// only (the regularisation the 13 trainable layers need on a few hundred patients).
    pub fn tail_dropout_t(&self, x: &Tensor, split: &Split, train: bool, p: f64) -> Tensor {
        let pooled = self.tail_pooled_t(x, split, train);
        let pooled = if train && p > 0.0 { pooled.dropout(p, true) } else { pooled };
        pooled.apply(&self.classifier)
    }

    /// From the cut's feature map to what the classifier reads: (N, 1024).
    pub fn tail_pooled_t(&self, x: &Tensor, split: &Split, train: bool) -> Tensor {
        global_pool(&self.units_t(split.cut_unit..self.units.len(), x, train))
    }

    /// ReLU, global average pooling (any input size), flattened: (N, 1024).
    pub fn pooled_t(&self, x: &Tensor, train: bool) -> Tensor {
        global_pool(&self.features_t(x, train))
    }
}

impl ModuleT for DenseNet121 {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.pooled_t(x, train).apply(&self.classifier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_percent_trains_the_last_six_dense_layers_and_the_classifier() {
        let _rng = super::super::torch_rng();
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let net = DenseNet121::new(&vs.root(), 1);
        // 1 stem conv + 2 per dense layer + 3 transitions = 120 convolutions, + the classifier.
        let convs = vs.variables().keys().filter(|k| k.ends_with(".weight") && k.contains("conv")).count();
        assert_eq!(convs + 1, LAYERS);
        let s = net.split(0.10);
        assert_eq!((s.trainable_layers, s.first_trainable), (13, 108));
        assert_eq!(s.cut_name, "denseblock4.denselayer11");
        assert_eq!(net.split(1.0).cut_name, "stem");
        assert_eq!(net.split(0.0).cut_name, "norm5");
        // 14 layers: the tail starts at denselayer10, whose conv1 stays frozen.
        let s14 = net.split(14.0 / 121.0);
        assert_eq!((s14.trainable_layers, s14.cut_name.as_str()), (14, "denseblock4.denselayer10"));
    }

    #[test]
    fn the_prefix_and_the_tail_compose_to_the_whole_network() {
        let _rng = super::super::torch_rng();
        tch::manual_seed(3);
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let mut net = DenseNet121::new(&vs.root(), 2);
        let x = Tensor::randn([2, 3, 64, 64], (tch::Kind::Float, tch::Device::Cpu));
        let s = net.split(0.10);
        net.apply_split(&vs, &s);
        let whole = tch::no_grad(|| net.forward_t(&x, false));
        let parts = tch::no_grad(|| net.tail_t(&net.prefix(&x, &s), &s, false));
        assert!(whole.allclose(&parts, 1e-6, 1e-6, false));
        let trainable: Vec<String> = vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).map(|(n, _)| n).collect();
        // 12 convolutions with their batch norms (2 tensors each), norm5 and the classifier (2 each).
        assert_eq!(trainable.len(), 12 + 12 * 2 + 2 + 2);
        assert!(trainable.iter().all(|n| n.contains("denselayer1") && n.contains("denseblock4") || n.contains("norm5") || n.starts_with("classifier")));
    }
}
