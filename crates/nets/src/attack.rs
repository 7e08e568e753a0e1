//! Gradient access to trained networks for the adversarial experiment ([`driftbench_core::attack`]): the attack
//! loss and its gradient with respect to the input features, through candle's backward pass on an input held in
//! a [`Var`] outside the model's parameters.
//!
//! * Sequence networks ([`NetSolver`]): the training loss, the set cross-entropy against the instance's correct
//!   rank targets, averaged over the instance's positions.
//! * Regression networks ([`VecSolver`]): the squared distance of the output from the correct output, both
//!   standardised as in training (so every output counts in units of its training spread). The correct output
//!   is the point's [`LinearReference`]; without one, the network's own output on the clean instance (an
//!   untargeted push away from its answer). The input standardisation is part of the graph, so the gradient is
//!   with respect to the raw features.
use crate::error::{solve_error, NetError, Result};
use crate::learner::NetSolver;
use crate::seq::{make_batch, predict};
use crate::vec::VecSolver;
use candle_core::{Device, Tensor, Var, D};
use driftbench_core::attack::{AttackPoint, AttackSurface, LinearReference};
use driftbench_core::{SeqExample, SeqTask, VecTask};

/// Points per forward-backward pass (bounds memory; the points are independent).
const CHUNK: usize = 512;

/// The instance's sequence encoding with `features` in place of its own.
fn with_features<T: SeqTask>(task: &T, inst: &T::Instance, features: &[f32]) -> Result<SeqExample> {
    let ex = task.encode_seq(inst).ok_or_else(|| NetError::Encoding(format!("{} gave no encoding", task.id())))?;
    if features.len() != ex.features.len() || features.iter().any(|x| !x.is_finite()) {
        return Err(NetError::Encoding(format!(
            "{} perturbed features for an encoding of {} features (or non-finite ones)",
            features.len(),
            ex.features.len()
        )));
    }
    Ok(SeqExample { features: features.to_vec(), targets: ex.targets })
}

/// The gradient rows of `x` (`[B, ...]`), or zeros when the loss does not depend on it.
fn grad_rows(grads: &candle_core::backprop::GradStore, x: &Var) -> Result<Vec<Vec<f32>>> {
    let b = x.dim(0)?;
    match grads.get(x.as_tensor()) {
        Some(g) => Ok(g.reshape((b, ()))?.to_vec2::<f32>()?),
        None => Ok(vec![vec![0.0; x.elem_count() / b.max(1)]; b]),
    }
}

impl NetSolver {
    fn seq_loss_and_grad<T: SeqTask>(&self, task: &T, points: &[AttackPoint<'_, T>]) -> Result<Vec<(f32, Vec<f32>)>> {
        let exs: Vec<SeqExample> =
            points.iter().map(|p| with_features(task, p.instance, p.features)).collect::<Result<_>>()?;
        let mut out = Vec::with_capacity(exs.len());
        let (f, fi) = (self.shape.features, crate::seq::input_features(self.shape));
        for chunk in exs.chunks(CHUNK) {
            let refs: Vec<&SeqExample> = chunk.iter().collect();
            let longest = chunk.iter().map(|e| e.len()).max().unwrap_or(0);
            let batch = make_batch(&refs, self.shape, self.model.pad_to(longest), true)?;
            let targets = batch.target_logmask.as_ref().expect("targets were asked for");
            let x = Var::from_tensor(&batch.x)?;
            let logits = self.model.forward(x.as_tensor(), &batch.mask)?;
            // Per position: log P(class in the correct range), as in training's set cross-entropy.
            let y = (candle_nn::ops::log_softmax(&logits, D::Minus1)? + targets)?;
            let m = y.max_keepdim(D::Minus1)?.detach();
            let lse = (y.broadcast_sub(&m)?.exp()?.sum_keepdim(D::Minus1)?.log()? + m)?.squeeze(D::Minus1)?;
            let lens: Vec<f32> = batch.lens.iter().map(|&n| n.max(1) as f32).collect();
            let lens = Tensor::from_vec(lens, chunk.len(), &Device::Cpu)?;
            let per = (lse * &batch.mask)?.sum(1)?.neg()?.broadcast_div(&lens)?;
            let grads = per.sum_all()?.backward()?;
            let losses = per.to_vec1::<f32>()?;
            for ((loss, row), ex) in losses.into_iter().zip(grad_rows(&grads, &x)?).zip(chunk) {
                // Only the task's own features are perturbed; positional features are not part of the question.
                out.push((loss, row.chunks(fi).take(ex.len()).flat_map(|c| c[..f].iter().copied()).collect()));
            }
        }
        Ok(out)
    }
}

impl<T: SeqTask> AttackSurface<T> for NetSolver {
    fn features(&self, task: &T, instance: &T::Instance) -> Option<Vec<f32>> {
        task.encode_seq(instance).map(|e| e.features)
    }

    fn loss_and_grad(&self, task: &T, points: &[AttackPoint<'_, T>]) -> driftbench_core::Result<Vec<(f32, Vec<f32>)>> {
        self.seq_loss_and_grad(task, points).map_err(|e| solve_error(task.id(), self.name, e))
    }

    fn answer_features(
        &self,
        task: &T,
        instances: &[T::Instance],
        features: &[Vec<f32>],
    ) -> driftbench_core::Result<Vec<Option<T::Answer>>> {
        let run = || -> Result<Vec<Option<T::Answer>>> {
            let exs: Vec<SeqExample> =
                instances.iter().zip(features).map(|(i, x)| with_features(task, i, x)).collect::<Result<_>>()?;
            let refs: Vec<&SeqExample> = exs.iter().collect();
            let scores = predict(self.model.as_ref(), self.shape, &refs)?;
            Ok(instances.iter().zip(&scores).map(|(i, s)| task.decode_seq(i, s)).collect())
        };
        run().map_err(|e| solve_error(task.id(), self.name, e))
    }
}

impl VecSolver {
    fn vec_loss_and_grad<T: VecTask>(&self, task: &T, points: &[AttackPoint<'_, T>]) -> Result<Vec<(f32, Vec<f32>)>> {
        let (xs, ys) = (&self.model.x_std, &self.model.y_std);
        let (d, o) = (xs.mean.len(), ys.mean.len());
        let bad = |what: &str| NetError::Encoding(format!("attack point with {what}"));
        // Points without a reference are measured against the network's own clean output.
        let unreferenced: Vec<usize> = (0..points.len()).filter(|&i| points[i].reference.is_none()).collect();
        let clean_inputs = unreferenced
            .iter()
            .map(|&i| task.encode_vec(points[i].instance).filter(|x| x.len() == d).ok_or_else(|| bad("no encoding")))
            .collect::<Result<Vec<_>>>()?;
        let clean_outputs = self.model.predict(&clean_inputs)?;
        let mut fallback: Vec<Option<LinearReference>> = vec![None; points.len()];
        for (&i, value) in unreferenced.iter().zip(clean_outputs) {
            fallback[i] = Some(LinearReference { origin: vec![0.0; d], value, jacobian: vec![0.0; o * d] });
        }
        let dev = &Device::Cpu;
        let (x_mean, x_sd) = (Tensor::from_slice(&xs.mean, d, dev)?, Tensor::from_slice(&xs.std, d, dev)?);
        let (y_mean, y_sd) = (Tensor::from_slice(&ys.mean, o, dev)?, Tensor::from_slice(&ys.std, o, dev)?);
        let mut out = Vec::with_capacity(points.len());
        for (c, chunk) in points.chunks(CHUNK).enumerate() {
            let b = chunk.len();
            let (mut x, mut origin, mut value, mut jac) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (k, p) in chunk.iter().enumerate() {
                let r = p.reference.or(fallback[c * CHUNK + k].as_ref()).ok_or_else(|| bad("no reference"))?;
                if p.features.len() != d || p.features.iter().any(|v| !v.is_finite()) {
                    return Err(bad("features of the wrong length or not finite"));
                }
                if r.origin.len() != d || r.value.len() != o || r.jacobian.len() != o * d {
                    return Err(bad("a reference of the wrong shape"));
                }
                x.extend_from_slice(p.features);
                origin.extend_from_slice(&r.origin);
                value.extend_from_slice(&r.value);
                jac.extend_from_slice(&r.jacobian);
            }
            let x = Var::from_tensor(&Tensor::from_vec(x, (b, d), dev)?)?;
            let origin = Tensor::from_vec(origin, (b, 1, d), dev)?;
            let value = Tensor::from_vec(value, (b, o), dev)?;
            let jac = Tensor::from_vec(jac, (b, o, d), dev)?;
            let input = x.as_tensor().broadcast_sub(&x_mean)?.broadcast_div(&x_sd)?;
            let output = self.model.forward(&input)?;
            // The correct output at x, to first order, standardised like the network's.
            let moved = x.as_tensor().unsqueeze(1)?.broadcast_sub(&origin)?.broadcast_mul(&jac)?.sum(D::Minus1)?;
            let correct = (value + moved)?.broadcast_sub(&y_mean)?.broadcast_div(&y_sd)?;
            let per = (output - correct)?.sqr()?.sum(1)?;
            let grads = per.sum_all()?.backward()?;
            let losses = per.to_vec1::<f32>()?;
            out.extend(losses.into_iter().zip(grad_rows(&grads, &x)?));
        }
        Ok(out)
    }
}

impl<T: VecTask> AttackSurface<T> for VecSolver {
    fn features(&self, task: &T, instance: &T::Instance) -> Option<Vec<f32>> {
        task.encode_vec(instance)
    }

    fn loss_and_grad(&self, task: &T, points: &[AttackPoint<'_, T>]) -> driftbench_core::Result<Vec<(f32, Vec<f32>)>> {
        self.vec_loss_and_grad(task, points).map_err(|e| solve_error(task.id(), self.name, e))
    }

    fn answer_features(
        &self,
        task: &T,
        instances: &[T::Instance],
        features: &[Vec<f32>],
    ) -> driftbench_core::Result<Vec<Option<T::Answer>>> {
        let d = self.model.x_std.mean.len();
        if features.len() != instances.len() || features.iter().any(|x| x.len() != d) {
            let e = NetError::Encoding("perturbed features do not match the network's input".into());
            return Err(solve_error(task.id(), self.name, e));
        }
        let outputs = self.model.predict(features).map_err(|e| solve_error(task.id(), self.name, e))?;
        Ok(instances.iter().zip(&outputs).map(|(i, o)| task.decode_vec(i, o)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::Net;
    use crate::learner::SeqLearner;
    use crate::vec::{NearestNeighbour, VecLearner};
    use driftbench_core::attack::{seq_attack, variant_attack, vec_attack, AttackConfig};
    use driftbench_core::solver::Symbolic;
    use driftbench_core::{rng, Cell, Learner, Profile, Solver, SolverKind, Task, TrainData};
    use driftbench_tasks::{Navigation, Rocket, Sorting};

    fn data<T: Task>(task: &T, n: usize) -> TrainData<T> {
        let mut r = rng::stream(5, task.id(), "attack-test");
        let train = (0..n).map(|_| task.generate(Cell::IN_DIST, &mut r)).collect();
        let val = (0..50).map(|_| task.generate(Cell::IN_DIST, &mut r)).collect();
        TrainData { train, val, dropped_overlaps: 0, max_epochs: None }
    }

    fn tests<T: Task>(task: &T) -> Vec<T::Instance> {
        let mut r = rng::stream(6, task.id(), "attack-test/test");
        (0..40).map(|_| task.generate(Cell::IN_DIST, &mut r)).collect()
    }

    fn trained<T: Task>(task: &T, learner: &dyn Learner<T>) -> Box<dyn Solver<T>> {
        learner.train(task, &data(task, 300), &Profile::tiny(), 1, &|_| {}).unwrap().0
    }

    /// Central finite differences of the surface's own loss agree with its gradient.
    fn check_gradient<T: Task>(
        task: &T,
        solver: &dyn Solver<T>,
        inst: &T::Instance,
        reference: Option<&LinearReference>,
        h: &[f32],
    ) {
        let s = solver.attack_surface().expect("a network has a surface");
        let x = s.features(task, inst).unwrap();
        let point = |x: &[f32]| {
            let p = [AttackPoint { instance: inst, features: x, reference }];
            s.loss_and_grad(task, &p).unwrap().remove(0)
        };
        let (loss, g) = point(&x);
        assert_eq!(g.len(), x.len());
        for k in 0..x.len() {
            let mut up = x.clone();
            let mut down = x.clone();
            up[k] += h[k];
            down[k] -= h[k];
            let fd = (point(&up).0 - point(&down).0) / (2.0 * h[k]);
            // Relative agreement, up to the rounding noise of an f32 loss divided by the step.
            let noise = 8.0 * f32::EPSILON * loss.abs().max(1.0) / h[k];
            let tolerance = 0.05 * fd.abs().max(g[k].abs()) + noise;
            assert!((fd - g[k]).abs() <= tolerance, "feature {k}: backward {} vs finite difference {fd}", g[k]);
        }
    }

    #[test]
    fn input_gradients_match_finite_differences() {
        let t = Sorting;
        let inst = driftbench_tasks::sorting::SortInstance { values: vec![40, 3, 77, 12, 12] };
        for learner in [SeqLearner::mlp(), SeqLearner::transformer()] {
            check_gradient(&t, trained(&t, &Net(learner.clone())).as_ref(), &inst, None, &[1e-4; 5]);
        }
        let r = Rocket;
        let inst = tests(&r).remove(0);
        // A correct output that moves with the target (made up: the check is of the derivative, not the physics).
        let reference = LinearReference {
            origin: r.encode_vec(&inst).unwrap(),
            value: vec![40.0, 50.0],
            jacobian: vec![0.05, -2.0, 0.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0],
        };
        for learner in [VecLearner::relu(), VecLearner::tanh()] {
            let net = trained(&r, &Net(learner.clone()));
            check_gradient(&r, net.as_ref(), &inst, Some(&reference), &[0.05, 0.005, 0.001, 0.001, 0.05]);
        }
    }

    fn check_stats(stats: &driftbench_core::attack::AttackStats, n: u64) {
        assert_eq!(stats.instances, n);
        assert_eq!(stats.budgets.len(), driftbench_core::attack::BUDGETS.len());
        for r in &stats.budgets {
            assert!(r.successes <= stats.clean_successes, "{stats:?}");
            assert!(r.successes <= r.fgsm_successes && r.successes <= r.random_successes, "{stats:?}");
        }
    }

    #[test]
    fn tiny_networks_are_attacked_and_the_control_holds() {
        let t = Sorting;
        let insts = tests(&t);
        for learner in [SeqLearner::mlp(), SeqLearner::transformer()] {
            let net = trained(&t, &Net(learner.clone()));
            let stats = seq_attack(&t, net.as_ref(), SolverKind::Network, &insts, 1, &AttackConfig::default())
                .unwrap()
                .unwrap();
            check_stats(&stats, 40);
        }
        let control = trained(&t, &Symbolic);
        let stats = seq_attack(&t, control.as_ref(), SolverKind::Symbolic, &insts, 1, &AttackConfig::default())
            .unwrap()
            .unwrap();
        check_stats(&stats, 40);
        assert!(stats.clean_successes == 40 && stats.budgets.iter().all(|b| b.successes == 40));

        let r = Rocket;
        let insts = tests(&r);
        let net = trained(&r, &Net(VecLearner::relu()));
        let stats =
            vec_attack(&r, net.as_ref(), SolverKind::Network, &insts, 1, &AttackConfig::default()).unwrap().unwrap();
        check_stats(&stats, 40);
        let control = trained(&r, &Symbolic);
        let stats = vec_attack(&r, control.as_ref(), SolverKind::Symbolic, &insts, 1, &AttackConfig::default())
            .unwrap()
            .unwrap();
        assert!(stats.clean_successes == 40 && stats.budgets.iter().all(|b| b.successes == 40), "{stats:?}");
        assert_eq!(stats.median_breaking_budget, None);
        // Nearest neighbour has no gradient: the corners alone, and the method says so.
        let nn = trained(&r, &Net(NearestNeighbour));
        let stats =
            vec_attack(&r, nn.as_ref(), SolverKind::Baseline, &insts, 1, &AttackConfig::default()).unwrap().unwrap();
        check_stats(&stats, 40);
        assert!(stats.method.starts_with("gradient-free"), "{}", stats.method);
        assert!(stats.budgets.iter().all(|b| b.fgsm_successes == b.successes), "{stats:?}");
    }

    #[test]
    fn navigation_episodes_are_attacked_with_added_cars() {
        let t = Navigation;
        let insts = tests(&t);
        let control = trained(&t, &Symbolic);
        let stats = variant_attack(&t, control.as_ref(), SolverKind::Symbolic, &insts, 1, &AttackConfig::default())
            .unwrap()
            .unwrap();
        assert_eq!(stats.clean_successes, 40);
        assert!(stats.budgets.iter().all(|b| b.successes == 40 && b.failures.is_empty()), "{stats:?}");
        let net = trained(&t, &Net(crate::policy::Imitation::default()));
        let stats = variant_attack(&t, net.as_ref(), SolverKind::Network, &insts, 1, &AttackConfig::default())
            .unwrap()
            .unwrap();
        check_stats(&stats, 40);
        for w in stats.budgets.windows(2) {
            assert!(w[1].successes <= w[0].successes, "{stats:?}");
        }
        for b in &stats.budgets {
            assert_eq!(b.failures.values().sum::<u64>(), stats.clean_successes - b.successes, "{stats:?}");
        }
    }
}
