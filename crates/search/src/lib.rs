//! Program-search learners: the third kind of contestant. Each learns from exactly the training data the
//! networks of its task get, but searches a space of small programs over a published DSL instead of fitting a
//! continuous map.
//!
//! - [`enumerate`]: the generic bottom-up enumerator with observational-equivalence pruning and hard caps.
//! - [`sorting`], [`rocket`], [`navigation`]: one DSL and learner set per task.
pub mod enumerate;
pub mod navigation;
pub mod rocket;
pub mod sorting;
