//! DAgger (Ross et al., 2011) as the navigation learners use it: each round rolls the current policy out on
//! training instances and labels every state it reaches with the expert's next action. The imitation MLP
//! (`policy.rs`) and the value-iteration network (`grid_policy`) share the rule for how many rollouts a round gets.
use driftbench_core::Profile;

/// A DAgger round's rollouts: `episodes` (configured at `train_scale` 1) scaled by the profile's `train_scale` up
/// to 1 (a larger profile trains longer, not on more rollouts per round), at most a quarter of the `train_size`
/// training instances (a small training set is not padded out with expert-labelled rollouts), and at least one.
pub fn episodes(profile: &Profile, episodes: usize, train_size: usize) -> usize {
    ((episodes as f64 * profile.train_scale.min(1.0)).round() as usize).min(train_size / 4).max(1)
}

#[cfg(test)]
mod tests {
    use super::episodes;
    use driftbench_core::Profile;

    #[test]
    fn dagger_rounds_scale_down_with_the_profile_never_up_and_stay_within_a_quarter_of_the_data() {
        let quick = Profile::quick();
        assert_eq!(episodes(&quick, 2000, 100_000), 2000);
        assert_eq!(episodes(&Profile { train_scale: 4.0, ..quick.clone() }, 2000, 100_000), 2000);
        assert_eq!(episodes(&Profile { train_scale: 0.25, ..quick.clone() }, 2000, 100_000), 500);
        assert_eq!(episodes(&quick, 2000, 1000), 250);
        assert_eq!(episodes(&quick, 2000, 3), 1);
    }
}
