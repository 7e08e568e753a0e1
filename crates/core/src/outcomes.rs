//! Per-instance outcomes of one evaluation cell, kept in the record so that two solvers judged on the same test
//! instances can be compared instance by instance (a paired test), and so that a reader can see *which* inputs
//! break a solver, not only how many.
//!
//! Each flag list is a bitset over the cell's test instances in test-set order, written as lowercase hex: bit `i`
//! (instance `i`) is bit `i % 8` of byte `i / 8`, least significant bit first, and unused high bits of the last
//! byte are zero. 1,000 instances take 250 characters. The encoding is named in every record
//! ([`OUTCOMES_ENCODING`]) so that it can change without misreading old records.
//!
//! ```
//! use driftbench_core::outcomes::Bits;
//! let b = Bits::from_bools(&[true, false, false, true, true, false, false, false, true]);
//! assert_eq!(b.to_hex(), "1901");
//! assert_eq!(Bits::from_hex("1901", 9).unwrap(), b);
//! assert_eq!(b.count_ones(), 4);
//! ```
use serde::{Deserialize, Serialize};

/// The bitset encoding this driftbench writes and reads.
pub const OUTCOMES_ENCODING: &str = "bitset-hex-lsb/1";

/// A fixed-length list of flags, one per test instance.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bits {
    len: usize,
    bytes: Vec<u8>,
}

impl Bits {
    /// The flags of `flags`, in order.
    pub fn from_bools(flags: &[bool]) -> Bits {
        let mut bytes = vec![0u8; flags.len().div_ceil(8)];
        for (i, _) in flags.iter().enumerate().filter(|(_, f)| **f) {
            bytes[i / 8] |= 1 << (i % 8);
        }
        Bits { len: flags.len(), bytes }
    }

    /// Decodes `len` flags from `hex`; refuses a string of the wrong length, a non-hex character, or set bits
    /// past `len`.
    pub fn from_hex(hex: &str, len: usize) -> Result<Bits, String> {
        let want = len.div_ceil(8) * 2;
        if hex.len() != want {
            return Err(format!("{} hex digits for {len} instances (want {want})", hex.len()));
        }
        let digit = |c: u8| -> Result<u8, String> {
            match c {
                b'0'..=b'9' => Ok(c - b'0'),
                b'a'..=b'f' => Ok(c - b'a' + 10),
                _ => Err(format!("`{}` is not a lowercase hex digit", c as char)),
            }
        };
        let bytes = hex
            .as_bytes()
            .chunks(2)
            .map(|pair| Ok(digit(pair[0])? << 4 | digit(pair[1])?))
            .collect::<Result<Vec<u8>, String>>()?;
        if !len.is_multiple_of(8) && bytes.last().is_some_and(|b| b >> (len % 8) != 0) {
            return Err(format!("bits set past the {len} instances"));
        }
        Ok(Bits { len, bytes })
    }

    /// Lowercase hex, least significant bit first within each byte.
    pub fn to_hex(&self) -> String {
        self.bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Number of flags.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no flags at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Flag `i`; `false` past the end.
    pub fn get(&self, i: usize) -> bool {
        i < self.len && self.bytes[i / 8] >> (i % 8) & 1 == 1
    }

    /// Number of set flags.
    pub fn count_ones(&self) -> u64 {
        self.bytes.iter().map(|b| u64::from(b.count_ones())).sum()
    }

    /// Number of instances set in both.
    pub fn count_and(&self, other: &Bits) -> u64 {
        self.bytes.iter().zip(&other.bytes).map(|(a, b)| u64::from((a & b).count_ones())).sum()
    }

    /// The flags as booleans.
    pub fn to_bools(&self) -> Vec<bool> {
        (0..self.len).map(|i| self.get(i)).collect()
    }
}

/// What happened on each test instance of one cell, in test-set order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceOutcomes {
    /// How the flag lists are written ([`OUTCOMES_ENCODING`]).
    pub encoding: String,
    /// Success per instance.
    pub success: String,
    /// Instances the solver gave no answer for, where there was at least one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_answer: Option<String>,
    /// The task's stricter criterion per instance, for tasks that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<String>,
    /// Instances whose correct answer was within the solver's reach (expressible and supervised), for solvers
    /// that assess it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervised: Option<String>,
}

/// [`InstanceOutcomes`] decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedOutcomes {
    /// Success per instance.
    pub success: Bits,
    /// No answer per instance (all clear when the record lists none).
    pub no_answer: Bits,
    /// Strict success per instance, for tasks with a strict criterion.
    pub strict: Option<Bits>,
    /// Within reach per instance, for solvers that assess it.
    pub supervised: Option<Bits>,
}

impl InstanceOutcomes {
    /// Encodes the flag lists of one cell (all of the same length).
    pub fn new(success: &[bool], no_answer: &[bool], strict: Option<&[bool]>, supervised: Option<&[bool]>) -> Self {
        InstanceOutcomes {
            encoding: OUTCOMES_ENCODING.into(),
            success: Bits::from_bools(success).to_hex(),
            no_answer: no_answer.iter().any(|x| *x).then(|| Bits::from_bools(no_answer).to_hex()),
            strict: strict.map(|s| Bits::from_bools(s).to_hex()),
            supervised: supervised.map(|s| Bits::from_bools(s).to_hex()),
        }
    }

    /// Decodes every list for a cell of `n` instances, refusing an unknown encoding or a malformed list.
    pub fn decode(&self, n: u64) -> Result<DecodedOutcomes, String> {
        if self.encoding != OUTCOMES_ENCODING {
            return Err(format!(
                "per-instance outcomes in encoding `{}` (this driftbench reads `{OUTCOMES_ENCODING}`)",
                self.encoding
            ));
        }
        let n = usize::try_from(n).map_err(|_| format!("{n} instances do not fit this machine's memory"))?;
        let list = |name: &str, hex: &str| Bits::from_hex(hex, n).map_err(|e| format!("outcomes.{name}: {e}"));
        Ok(DecodedOutcomes {
            success: list("success", &self.success)?,
            no_answer: match &self.no_answer {
                Some(h) => list("no_answer", h)?,
                None => Bits::from_bools(&vec![false; n]),
            },
            strict: self.strict.as_deref().map(|h| list("strict", h)).transpose()?,
            supervised: self.supervised.as_deref().map(|h| list("supervised", h)).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length_and_pattern() {
        for len in [0usize, 1, 7, 8, 9, 15, 16, 17, 1000] {
            for pattern in 0..4u32 {
                let flags: Vec<bool> =
                    (0..len).map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> pattern) & 1 == 1).collect();
                let b = Bits::from_bools(&flags);
                assert_eq!(b.len(), len);
                assert_eq!(b.to_hex().len(), len.div_ceil(8) * 2);
                let back = Bits::from_hex(&b.to_hex(), len).unwrap();
                assert_eq!(back.to_bools(), flags);
                assert_eq!(back.count_ones(), flags.iter().filter(|f| **f).count() as u64);
            }
        }
    }

    #[test]
    fn refuses_malformed_lists() {
        assert!(Bits::from_hex("ff", 9).unwrap_err().contains("want 4"));
        assert!(Bits::from_hex("zz", 8).unwrap_err().contains("hex digit"));
        assert!(Bits::from_hex("FF", 8).unwrap_err().contains("hex digit"));
        // Bit 3 set in a list of 3 instances.
        assert!(Bits::from_hex("08", 3).unwrap_err().contains("past"));
        assert!(Bits::from_hex("07", 3).is_ok());
    }

    #[test]
    fn decodes_what_it_encodes_and_refuses_other_encodings() {
        let s = [true, false, true];
        let o = InstanceOutcomes::new(&s, &[false, true, false], Some(&[true, false, false]), None);
        let d = o.decode(3).unwrap();
        assert_eq!(d.success.to_bools(), s);
        assert_eq!(d.no_answer.count_ones(), 1);
        assert_eq!(d.strict.unwrap().count_ones(), 1);
        assert!(d.supervised.is_none());
        assert!(o.decode(9).is_err(), "a list of 3 read as 9 instances");
        let none = InstanceOutcomes::new(&s, &[false; 3], None, None);
        assert_eq!(none.no_answer, None);
        let other = InstanceOutcomes { encoding: "base64/9".into(), ..none };
        assert!(other.decode(3).unwrap_err().contains("base64/9"));
    }
}
