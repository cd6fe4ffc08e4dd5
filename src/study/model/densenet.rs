//! DenseNet121 (Huang et al. 2017) with torchvision's module and parameter names, so that
//! `features.denseblock1.denselayer1.norm1.weight` here is the same tensor as there.

use tch::nn::{self, ModuleT};
use tch::Tensor;

/// Dense layers per block, growth rate, bottleneck width factor, stem width.
pub const BLOCKS: [usize; 4] = [6, 12, 24, 16];
const GROWTH: i64 = 32;
const BN_SIZE: i64 = 4;
const STEM: i64 = 64;

fn conv(p: nn::Path, cin: i64, cout: i64, k: i64, stride: i64, padding: i64) -> nn::Conv2D {
    nn::conv2d(p, cin, cout, k, nn::ConvConfig { stride, padding, bias: false, ..Default::default() })
}

fn bn(p: nn::Path, c: i64) -> nn::BatchNorm {
    nn::batch_norm2d(p, c, Default::default())
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

    /// The new features only (torchvision concatenates them onto the block's input).
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        x.apply_t(&self.norm1, train).relu().apply(&self.conv1).apply_t(&self.norm2, train).relu().apply(&self.conv2)
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
    Layer(DenseLayer),
    Transition(Transition),
    Norm5(nn::BatchNorm),
}

#[derive(Debug)]
pub struct DenseNet121 {
    /// (name, unit): `stem`, `denseblock1.denselayer1`, …, `transition1`, …, `norm5`.
    units: Vec<(String, Unit)>,
    pub classifier: nn::Linear,
}

impl DenseNet121 {
    /// Creates the network's variables under `root` (`features.*`, `classifier.*`).
    pub fn new(root: &nn::Path, classes: i64) -> DenseNet121 {
        let f = root / "features";
        let mut units = vec![(
            "stem".to_owned(),
            Unit::Stem { conv0: conv(&f / "conv0", 3, STEM, 7, 2, 3), norm0: bn(&f / "norm0", STEM) },
        )];
        let mut c = STEM;
        for (b, &layers) in BLOCKS.iter().enumerate() {
            let block = &f / format!("denseblock{}", b + 1);
            for l in 0..layers {
                let name = format!("denseblock{}.denselayer{}", b + 1, l + 1);
                units.push((name, Unit::Layer(DenseLayer::new(&(&block / format!("denselayer{}", l + 1)), c))));
                c += GROWTH;
            }
            if b + 1 < BLOCKS.len() {
                let t = &f / format!("transition{}", b + 1);
                units.push((
                    format!("transition{}", b + 1),
                    Unit::Transition(Transition { norm: bn(&t / "norm", c), conv: conv(&t / "conv", c, c / 2, 1, 1, 0) }),
                ));
                c /= 2;
            }
        }
        units.push(("norm5".to_owned(), Unit::Norm5(bn(&f / "norm5", c))));
        DenseNet121 { units, classifier: nn::linear(root / "classifier", c, classes, Default::default()) }
    }

    /// The feature maps after `norm5` (before the final ReLU), as torchvision's `features`.
    pub fn features_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut x = x.shallow_clone();
        for (_, unit) in &self.units {
            x = match unit {
                Unit::Stem { conv0, norm0 } => x.apply(conv0).apply_t(norm0, train).relu().max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false),
                Unit::Layer(l) => {
                    let y = l.forward_t(&x, train);
                    Tensor::cat(&[&x, &y], 1)
                }
                // A true average (torchvision's nn.AvgPool2d(2, 2)), not a sum.
                Unit::Transition(t) => x.apply_t(&t.norm, train).relu().apply(&t.conv).avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None),
                Unit::Norm5(n) => x.apply_t(n, train),
            };
        }
        x
    }

    /// ReLU, global average pooling (any input size), flattened: (N, 1024).
    pub fn pooled_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.features_t(x, train).relu().adaptive_avg_pool2d([1, 1]).flatten(1, -1)
    }
}

impl ModuleT for DenseNet121 {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.pooled_t(x, train).apply(&self.classifier)
    }
}
