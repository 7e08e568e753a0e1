//! `--shard` values: explicit shards and Slurm array tasks.

/// Errors in a `--shard` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Neither `I/N`, `slurm` nor `slurm/N`.
    #[error("shard `{0}` is not of the form I/N (0-based), `slurm` or `slurm/N`")]
    Form(String),
    /// A number that does not parse.
    #[error("shard {what} `{value}` is not a non-negative integer")]
    Number {
        /// Which part: `index`, `count`, or a Slurm variable's name.
        what: String,
        /// The text given.
        value: String,
    },
    /// An index outside `0..count`.
    #[error("shard {index}/{count} is out of range: need 0 <= I < N")]
    OutOfRange {
        /// The index.
        index: usize,
        /// The shard count.
        count: usize,
    },
    /// `--shard slurm` outside a Slurm job array.
    #[error(
        "--shard {spec} reads the environment variable {var}, which is not set: run it as a task of a Slurm job \
         array (sbatch --array=0-3 ...), or give the shard as I/N"
    )]
    MissingVar {
        /// The `--shard` value.
        spec: String,
        /// The missing variable.
        var: &'static str,
    },
    /// `--shard slurm` in an array whose task ids are not `MIN..MIN+COUNT`.
    #[error(
        "Slurm array task {id} is not one of the {count} contiguous ids from {min} (SLURM_ARRAY_TASK_MIN): submit a \
         range such as --array=0-{last}, or give the total as --shard slurm/N to resubmit only some indices"
    )]
    NotContiguous {
        /// SLURM_ARRAY_TASK_ID.
        id: usize,
        /// SLURM_ARRAY_TASK_MIN.
        min: usize,
        /// SLURM_ARRAY_TASK_COUNT.
        count: usize,
        /// The last id of a contiguous array from 0 of that size.
        last: usize,
    },
}

/// Parses a `--shard` value into (index, count), 0-based:
/// - `I/N`: shard `I` of `N`;
/// - `slurm`: this Slurm array task, `SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN` of `SLURM_ARRAY_TASK_COUNT`
///   (`SLURM_ARRAY_TASK_MIN` is 0 when unset), for an array submitted as a range such as `--array=0-3`;
/// - `slurm/N`: shard `SLURM_ARRAY_TASK_ID` of `N`, for resubmitting only some indices (`--array=2`).
///
/// `env` looks up an environment variable (`|k| std::env::var(k).ok()` in the CLI).
pub fn parse_shard(spec: &str, env: impl Fn(&str) -> Option<String>) -> Result<(usize, usize), ShardError> {
    let number = |what: &str, value: &str| {
        value.trim().parse::<usize>().map_err(|_| ShardError::Number { what: what.into(), value: value.into() })
    };
    let var =
        |name: &'static str| -> Result<Option<usize>, ShardError> { env(name).map(|v| number(name, &v)).transpose() };
    let required = |name: &'static str| -> Result<usize, ShardError> {
        var(name)?.ok_or_else(|| ShardError::MissingVar { spec: spec.trim().into(), var: name })
    };
    let (index, count) = match spec.trim().split_once('/') {
        None if spec.trim() == "slurm" => {
            let id = required("SLURM_ARRAY_TASK_ID")?;
            let count = required("SLURM_ARRAY_TASK_COUNT")?;
            let min = var("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            match id.checked_sub(min).filter(|i| *i < count) {
                Some(index) => (index, count),
                None => return Err(ShardError::NotContiguous { id, min, count, last: count.saturating_sub(1) }),
            }
        }
        Some((i, n)) if i.trim() == "slurm" => (required("SLURM_ARRAY_TASK_ID")?, number("count", n)?),
        Some((i, n)) => (number("index", i)?, number("count", n)?),
        None => return Err(ShardError::Form(spec.into())),
    };
    if count == 0 || index >= count {
        return Err(ShardError::OutOfRange { index, count });
    }
    Ok((index, count))
}

#[cfg(test)]
mod tests {
    use super::{parse_shard, ShardError};

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(name, _)| *name == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn explicit_shards_parse_and_are_range_checked() {
        assert_eq!(parse_shard("2/4", env(&[])), Ok((2, 4)));
        assert_eq!(parse_shard(" 0 / 1 ", env(&[])), Ok((0, 1)));
        assert_eq!(parse_shard("4/4", env(&[])), Err(ShardError::OutOfRange { index: 4, count: 4 }));
        assert_eq!(parse_shard("0/0", env(&[])), Err(ShardError::OutOfRange { index: 0, count: 0 }));
        assert!(matches!(parse_shard("x/4", env(&[])), Err(ShardError::Number { .. })));
        assert!(matches!(parse_shard("-1/4", env(&[])), Err(ShardError::Number { .. })));
        assert_eq!(parse_shard("3", env(&[])), Err(ShardError::Form("3".into())));
    }

    #[test]
    fn slurm_reads_the_array_task_variables() {
        let vars = [("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "4"), ("SLURM_ARRAY_TASK_MIN", "0")];
        assert_eq!(parse_shard("slurm", env(&vars)), Ok((3, 4)));
        // An array numbered from 1 (--array=1-4) still gives shards 0..4.
        let from_one = [("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "4"), ("SLURM_ARRAY_TASK_MIN", "1")];
        assert_eq!(parse_shard("slurm", env(&from_one)), Ok((0, 4)));
        // Without SLURM_ARRAY_TASK_MIN the ids count from 0.
        assert_eq!(parse_shard("slurm", env(&vars[..2])), Ok((3, 4)));
        // slurm/N: the id is the shard, whatever the array's own size (resubmitting one index).
        let one = [("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "1"), ("SLURM_ARRAY_TASK_MIN", "2")];
        assert_eq!(parse_shard("slurm/4", env(&one)), Ok((2, 4)));
        assert_eq!(parse_shard("slurm/2", env(&one)), Err(ShardError::OutOfRange { index: 2, count: 2 }));
    }

    #[test]
    fn slurm_outside_an_array_names_the_missing_variable() {
        let err = parse_shard("slurm", env(&[])).unwrap_err();
        assert_eq!(err, ShardError::MissingVar { spec: "slurm".into(), var: "SLURM_ARRAY_TASK_ID" });
        assert!(err.to_string().contains("SLURM_ARRAY_TASK_ID"), "{err}");
        let err = parse_shard("slurm", env(&[("SLURM_ARRAY_TASK_ID", "0")])).unwrap_err();
        assert!(err.to_string().contains("SLURM_ARRAY_TASK_COUNT"), "{err}");
        let err = parse_shard("slurm/4", env(&[])).unwrap_err();
        assert!(err.to_string().contains("--shard slurm/4 reads the environment variable SLURM_ARRAY_TASK_ID"));
        let bad = [("SLURM_ARRAY_TASK_ID", "two"), ("SLURM_ARRAY_TASK_COUNT", "4")];
        let err = parse_shard("slurm", env(&bad)).unwrap_err();
        assert!(err.to_string().contains("SLURM_ARRAY_TASK_ID `two`"), "{err}");
    }

    #[test]
    fn slurm_rejects_a_gappy_array() {
        // --array=0,5: the second task has id 5 but the array has only 2 tasks.
        let vars = [("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_COUNT", "2"), ("SLURM_ARRAY_TASK_MIN", "0")];
        let err = parse_shard("slurm", env(&vars)).unwrap_err();
        assert_eq!(err, ShardError::NotContiguous { id: 5, min: 0, count: 2, last: 1 });
        assert!(err.to_string().contains("--shard slurm/N"), "{err}");
    }
}
