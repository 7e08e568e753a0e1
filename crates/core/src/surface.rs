//! Gradient access to a trained network for the adversarial experiment ([`crate::attack`]): the surface a network
//! solver exposes. Apart from `attack` so that `solver` can name it without importing the experiment.
#[cfg(doc)]
use crate::capability::{SeqTask, VecTask};
use crate::error::Result;
#[cfg(doc)]
use crate::task::Encoding;
use crate::task::Task;

/// The correct network output near a point, to first order: `value + jacobian · (x − origin)`. Regression
/// attacks measure the output against it, so that a perturbation that moves the answer exactly as the truth
/// moves is not rewarded.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearReference {
    /// The features the reference is taken at.
    pub origin: Vec<f32>,
    /// The correct output there.
    pub value: Vec<f32>,
    /// d output / d features, outputs × features, row-major.
    pub jacobian: Vec<f32>,
}

/// One point at which an attack needs the loss gradient.
#[derive(Debug)]
pub struct AttackPoint<'a, T: Task> {
    /// The attacked (clean) instance. For [`Encoding::SeqClass`] its own correct targets hold at every point of
    /// the box, because the box leaves the correct answer unchanged.
    pub instance: &'a T::Instance,
    /// The features the network reads.
    pub features: &'a [f32],
    /// Regression: the correct output around here. Without one, the loss is the distance from the network's own
    /// output on the clean instance.
    pub reference: Option<&'a LinearReference>,
}

/// Gradient access to a trained network, for the adversarial experiment. Works on the encoded input features
/// (what the network reads: [`SeqTask::encode_seq`] features or [`VecTask::encode_vec`]).
pub trait AttackSurface<T: Task>: Send + Sync {
    /// The features the network reads for `instance`.
    fn features(&self, task: &T, instance: &T::Instance) -> Option<Vec<f32>>;
    /// For each point, the attack loss (larger = further from the correct answer) and its gradient with respect
    /// to the point's features. Points are independent: one batched call for all of them.
    fn loss_and_grad(&self, task: &T, points: &[AttackPoint<'_, T>]) -> Result<Vec<(f32, Vec<f32>)>>;
    /// The network's answer to each instance (the attacked instance, which the features describe) when it reads
    /// `features` instead of the instance's own encoding.
    fn answer_features(
        &self,
        task: &T,
        instances: &[T::Instance],
        features: &[Vec<f32>],
    ) -> Result<Vec<Option<T::Answer>>>;
}
