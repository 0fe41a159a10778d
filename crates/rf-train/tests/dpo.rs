//! The DPO loss: its gradient against finite differences, and one step raising the margin.
mod common;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Tensor, TensorData};
use common::*;
use rf_engine::Transformer;
use rf_train::loss::{dpo_loss, response_logprob, scalar};

const BETA: f64 = 0.5;

fn pair() -> (rf_train::loss::Tokenized, rf_train::loss::Tokenized) {
    (seq(&[5, 17, 99, 3], &[42, 7, 200, 11]), seq(&[5, 17, 99, 3], &[8, 150, 31]))
}

fn loss_value(model: &Transformer, refs: (f64, f64)) -> f64 {
    let (c, r) = pair();
    let terms = dpo_loss(response_logprob(model, &c).unwrap(), response_logprob(model, &r).unwrap(), refs.0, refs.1, BETA).unwrap();
    scalar(terms.loss).unwrap()
}

/// Adds `eps * direction[i]` to the i-th float parameter (visiting order).
struct Nudge<'a> {
    directions: &'a [Option<Vec<f32>>],
    eps: f32,
    index: usize,
}

impl ModuleMapper for Nudge<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let i = self.index;
        self.index += 1;
        let Some(dir) = &self.directions[i] else { return param };
        let eps = self.eps;
        param.map(|t| {
            let shape = t.shape();
            let delta: Vec<f32> = dir.iter().map(|d| d * eps).collect();
            let delta = Tensor::<D>::from_data(TensorData::new(delta, shape), &t.device());
            t + delta
        })
    }
}

/// Collects (gradient · direction) over the parameters that have a direction.
struct Dot<'a> {
    grads: &'a GradientsParams,
    directions: &'a [Option<Vec<f32>>],
    index: usize,
    sum: f64,
}

impl ModuleVisitor for Dot<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let i = self.index;
        self.index += 1;
        let Some(dir) = &self.directions[i] else { return };
        let grad: Vec<f32> = self.grads.get::<D>(param.id).expect("gradient").into_data().convert::<f32>().try_to_vec().unwrap();
        self.sum += grad.iter().zip(dir).map(|(g, d)| (*g as f64) * (*d as f64)).sum::<f64>();
    }
}

fn param_sizes(model: &Transformer) -> Vec<usize> {
    struct Sizes(Vec<usize>);
    impl ModuleVisitor for Sizes {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.val().shape().num_elements());
        }
    }
    let mut s = Sizes(Vec::new());
    model.visit(&mut s);
    s.0
}

#[test]
fn dpo_gradient_matches_finite_differences() {
    let device = autodiff_cpu();
    let model = tiny_model(&device);
    // A reference that differs from the policy, so the loss is away from its symmetric point.
    let refs = (-30.0, -20.0);
    let sizes = param_sizes(&model);
    // A pseudo-random ±1 direction over every third parameter tensor (embeddings included).
    let mut state = 12345u64;
    let directions: Vec<Option<Vec<f32>>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            (i % 3 == 0).then(|| {
                (0..n)
                    .map(|_| {
                        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        if state >> 63 == 0 { 1.0 } else { -1.0 }
                    })
                    .collect()
            })
        })
        .collect();

    let (c, r) = pair();
    let terms = dpo_loss(response_logprob(&model, &c).unwrap(), response_logprob(&model, &r).unwrap(), refs.0, refs.1, BETA).unwrap();
    let grads = GradientsParams::from_grads(terms.loss.backward(), &model);
    let mut dot = Dot { grads: &grads, directions: &directions, index: 0, sum: 0.0 };
    model.visit(&mut dot);
    let analytic = dot.sum;

    let eps = 1e-3;
    let plus = model.clone().valid().map(&mut Nudge { directions: &directions, eps, index: 0 });
    let minus = model.clone().valid().map(&mut Nudge { directions: &directions, eps: -eps, index: 0 });
    let numeric = (loss_value(&plus, refs) - loss_value(&minus, refs)) / (2.0 * eps as f64);
    let rel = (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(1e-6);
    assert!(analytic.abs() > 1e-3, "direction has a non-trivial slope: {analytic}");
    assert!(rel < 2e-2, "analytic {analytic} vs finite difference {numeric} (relative error {rel})");
}

#[test]
fn one_dpo_step_raises_the_margin_on_its_pair() {
    let device = autodiff_cpu();
    let model = tiny_model(&device);
    let (c, r) = pair();
    let ref_c = scalar(response_logprob(&model.valid(), &c).unwrap()).unwrap();
    let ref_r = scalar(response_logprob(&model.valid(), &r).unwrap()).unwrap();
    let terms = dpo_loss(response_logprob(&model, &c).unwrap(), response_logprob(&model, &r).unwrap(), ref_c, ref_r, BETA).unwrap();
    assert!(terms.margin.abs() < 1e-4, "policy equals reference at the start: {}", terms.margin);
    let before = scalar(terms.loss.clone()).unwrap();
    assert!((before - std::f64::consts::LN_2).abs() < 1e-4, "loss starts at ln 2: {before}");

    let grads = GradientsParams::from_grads(terms.loss.backward(), &model);
    let mut optim = SgdConfig::new().init();
    let model = optim.step(0.05, model, grads);

    let after = dpo_loss(response_logprob(&model, &c).unwrap(), response_logprob(&model, &r).unwrap(), ref_c, ref_r, BETA).unwrap();
    assert!(after.margin > 1e-3, "margin after one step: {}", after.margin);
    assert!(scalar(after.loss).unwrap() < before);
}
