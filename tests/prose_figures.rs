//! Every result figure quoted in prose is traceable to the committed records, and equals what they say.
//!
//! A figure in README.md or docs/ names its source in an HTML comment right after it (invisible once rendered):
//!
//! - `92.7%<!-- fig navigation-v2 vin in-dist-L0 -->`: the success of `vin` on navigation-v2 in that cell, pooled
//!   over every seed of the default suite's records (`results/runs`, the drift experiment), to one decimal as the
//!   report prints it; `<!-- fig TASK SOLVER CELL strict -->` reads the strict criterion instead,
//!   `<!-- fig TASK SOLVER CELL seed=2 -->` one seed's record, and `... full` the `full` profile's headline
//!   records (`results/full/runs`);
//! - `<!-- fig note: WHY -->` after a figure that no record holds (a tuning run, a generator statistic), saying
//!   where it comes from.
//!
//! - `<!-- figs note: WHY -->` … `<!-- figs end -->` around a table or section whose every figure comes from one
//!   named source that is not today's records (a tuning run, an earlier commit's records).
//!
//! No page (README.md outside the blocks the report writes, and every page under docs/) may quote a percentage
//! with a decimal without one of the three; the `fig TASK SOLVER CELL` figures are checked against the records.
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// (task, solver) → the drift records of the default suite (`results/runs`), and ("full:" + task, solver) → those
/// of the `full` profile's headline (`results/full/runs`, when present).
fn records(root: &Path) -> BTreeMap<(String, String), Vec<Value>> {
    let mut out: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    for (folder, prefix) in [("results/runs", ""), ("results/full/runs", "full:")] {
        let Ok(entries) = std::fs::read_dir(root.join(folder)) else {
            assert!(prefix == "full:", "{folder} is missing");
            continue;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let r: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("a record");
            if r.get("experiment").is_some_and(|e| !e.is_null()) {
                continue;
            }
            let task = format!("{prefix}{}", r["task"].as_str().unwrap_or(""));
            out.entry((task, r["solver"].as_str().unwrap_or("").to_string())).or_default().push(r);
        }
    }
    out
}

/// The figure a reference names, as the report prints it (percent, one decimal), or why it cannot be read.
fn figure(recs: &BTreeMap<(String, String), Vec<Value>>, reference: &str) -> Result<String, String> {
    let words: Vec<&str> = reference.split_whitespace().collect();
    let [task, solver, cell, rest @ ..] = &words[..] else {
        return Err(format!("`{reference}`: expected TASK SOLVER CELL [strict] [seed=N] [full]"));
    };
    let (mut strict, mut seed, mut full) = (false, None, false);
    for w in rest {
        match w.strip_prefix("seed=") {
            Some(s) => seed = Some(s.parse::<u64>().map_err(|_| format!("`{reference}`: bad seed `{s}`"))?),
            None if *w == "strict" => strict = true,
            None if *w == "full" => full = true,
            None => return Err(format!("`{reference}`: unknown word `{w}`")),
        }
    }
    let (key, folder) =
        if full { (format!("full:{task}"), "results/full/runs") } else { (task.to_string(), "results/runs") };
    let runs = recs
        .get(&(key, solver.to_string()))
        .ok_or_else(|| format!("`{reference}`: no record of {solver} on {task} in {folder}"))?;
    let (axis, level) = cell.rsplit_once("-L").ok_or_else(|| format!("`{reference}`: cell `{cell}` is not AXIS-Ln"))?;
    let level: u64 = level.parse().map_err(|_| format!("`{reference}`: cell `{cell}` has no level"))?;
    let (mut hits, mut n) = (0u64, 0u64);
    for r in runs.iter().filter(|r| seed.map_or(true, |s| r["seed"].as_u64() == Some(s))) {
        let c = r["cells"]
            .as_array()
            .and_then(|cells| cells.iter().find(|c| c["axis"] == axis && c["level"].as_u64() == Some(level)))
            .ok_or_else(|| format!("`{reference}`: no cell {cell} in the record of seed {}", r["seed"]))?;
        let key = if strict { "strict_successes" } else { "successes" };
        hits += c[key].as_u64().ok_or_else(|| format!("`{reference}`: the record has no {key}"))?;
        n += c["n"].as_u64().unwrap_or(0);
    }
    if n == 0 {
        return Err(format!("`{reference}`: no instances (is the seed in the records?)"));
    }
    Ok(format!("{:.1}", 100.0 * hits as f64 / n as f64))
}

/// The number written right before byte `at` of `text` (digits and one decimal point, an optional `%` between).
fn number_before(text: &str, at: usize) -> Option<&str> {
    let head = text[..at].trim_end().strip_suffix('%').unwrap_or(text[..at].trim_end());
    let start = head
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let n = &head[start..];
    (!n.is_empty() && n.chars().any(|c| c.is_ascii_digit())).then_some(n)
}

/// Checks every annotated figure of `text`; returns one line per problem, and how many figures were checked.
fn check_annotations(
    recs: &BTreeMap<(String, String), Vec<Value>>,
    name: &str,
    text: &str,
    problems: &mut Vec<String>,
) -> usize {
    let mut checked = 0;
    for (at, _) in text.match_indices("<!-- fig ") {
        let line = text[..at].matches('\n').count() + 1;
        let body = &text[at + "<!-- fig ".len()..];
        let Some(end) = body.find("-->") else {
            problems.push(format!("{name}:{line}: an unclosed figure comment"));
            continue;
        };
        let reference = body[..end].trim();
        if let Some(note) = reference.strip_prefix("note:") {
            if note.trim().is_empty() {
                problems.push(format!("{name}:{line}: a figure note must say where the figure comes from"));
            }
            continue;
        }
        let Some(written) = number_before(text, at) else {
            problems.push(format!("{name}:{line}: no figure before <!-- fig {reference} -->"));
            continue;
        };
        match figure(recs, reference) {
            Ok(f) if f == written => checked += 1,
            Ok(f) => problems.push(format!("{name}:{line}: says {written}, the records say {f} ({reference})")),
            Err(e) => problems.push(format!("{name}:{line}: {e}")),
        }
    }
    checked
}

/// Byte ranges of `text` the report writes (between `<!-- X:begin -->` and `<!-- X:end -->`).
fn generated_blocks(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (a, _) in text.match_indices("<!-- ") {
        let rest = &text[a + 5..];
        let Some(name) = rest.split_whitespace().next().and_then(|w| w.strip_suffix(":begin")) else { continue };
        let end = format!("<!-- {name}:end -->");
        if let Some(b) = text[a..].find(&end) {
            out.push((a, a + b + end.len()));
        }
    }
    out
}

/// Byte ranges of `text` under a block note: from `<!-- figs note: WHY -->` to the next `<!-- figs end -->`, a
/// table or section whose every figure comes from the named source (a tuning run, an earlier commit's records).
/// A block note that says nothing, or is never closed, is a problem.
fn noted_blocks(text: &str, problems: &mut Vec<String>) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (a, _) in text.match_indices("<!-- figs note:") {
        let line = text[..a].matches('\n').count() + 1;
        let why = text[a + "<!-- figs note:".len()..].split("-->").next().unwrap_or("").trim();
        if why.is_empty() {
            problems.push(format!("line {line}: a block note must say where its figures come from"));
        }
        match text[a..].find("<!-- figs end -->") {
            Some(b) => out.push((a, a + b)),
            None => problems.push(format!("line {line}: a block note with no <!-- figs end --> after it")),
        }
    }
    out
}

/// One-decimal percentages of `text`'s prose with no figure comment after them and no block note around them.
fn unannotated(text: &str) -> Vec<(usize, String)> {
    let mut problems = Vec::new();
    let mut blocks = generated_blocks(text);
    blocks.extend(noted_blocks(text, &mut problems));
    let mut out: Vec<(usize, String)> = problems.into_iter().map(|p| (0, p)).collect();
    for (at, _) in text.match_indices('%') {
        if blocks.iter().any(|&(a, b)| (a..b).contains(&at)) {
            continue;
        }
        let Some(n) = number_before(text, at + 1) else { continue };
        if !n.contains('.') || n.ends_with('.') {
            continue;
        }
        if !text[at + 1..].trim_start().starts_with("<!-- fig ") {
            out.push((text[..at].matches('\n').count() + 1, format!("{n}%")));
        }
    }
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every page under docs/: (name relative to the root, text).
fn pages(root: &Path) -> Vec<(String, String)> {
    let mut paths = vec![root.join("README.md")];
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("docs") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().and_then(|e| e.to_str()) == Some("md") {
                paths.push(path);
            }
        }
    }
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("page");
            (p.strip_prefix(root).unwrap_or(p).display().to_string(), text)
        })
        .collect()
}

#[test]
fn every_annotated_figure_equals_the_records() {
    let root = root();
    let recs = records(&root);
    assert!(!recs.is_empty(), "no records in results/runs");
    let mut problems = Vec::new();
    let mut checked = 0;
    for (name, text) in pages(&root) {
        checked += check_annotations(&recs, &name, &text, &mut problems);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked > 0, "no annotated figure anywhere");
}

#[test]
fn no_page_quotes_a_figure_without_its_source() {
    let pages = pages(&root());
    let mut missing = Vec::new();
    for (name, text) in &pages {
        missing.extend(unannotated(text).into_iter().map(|(line, f)| format!("{name}:{line}: {f}")));
    }
    assert!(pages.len() > 5, "README.md and docs/ hold more than {} pages", pages.len());
    assert!(
        missing.is_empty(),
        "percentages without <!-- fig TASK SOLVER CELL -->, <!-- fig note: ... --> or a <!-- figs note: ... --> \
         block around them:\n{}",
        missing.join("\n")
    );
}

#[test]
fn a_block_note_covers_its_figures_and_no_others() {
    let text = "a 12.5% here\n<!-- figs note: tune_x, seed 100 -->\n| 33.3% | 44.4% |\n<!-- figs end -->\nthen 55.5%\n";
    let missing: Vec<String> = unannotated(text).into_iter().map(|(_, f)| f).collect();
    assert_eq!(missing, ["12.5%", "55.5%"]);
    let open = unannotated("<!-- figs note: tune_x -->\n| 33.3% |\n");
    assert!(open.iter().any(|(_, f)| f.contains("no <!-- figs end -->")), "{open:?}");
    let empty = unannotated("<!-- figs note: -->\n| 33.3% |\n<!-- figs end -->\n");
    assert!(empty.iter().any(|(_, f)| f.contains("must say where")), "{empty:?}");
}

#[test]
fn the_checker_catches_a_drifted_or_unsourced_figure() {
    let root = root();
    let recs = records(&root);
    let reference = "navigation-v2 symbolic in-dist-L0";
    let right = figure(&recs, reference).expect("the planner's level 0");
    let mut problems = Vec::new();
    let good = format!("scores {right}%<!-- fig {reference} --> at level 0");
    assert_eq!(check_annotations(&recs, "t", &good, &mut problems), 1);
    assert!(problems.is_empty(), "{problems:?}");
    let bad = format!("scores 12.3%<!-- fig {reference} --> and {right}%<!-- fig navigation-v2 nobody in-dist-L0 -->");
    check_annotations(&recs, "t", &bad, &mut problems);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("says 12.3"), "{problems:?}");
    assert!(problems[1].contains("no record of nobody"), "{problems:?}");
    assert_eq!(unannotated("a 12.5% share\n<!-- x:begin -->\n| 9.9% |\n<!-- x:end -->\n").len(), 1);
    assert!(unannotated("a 12.5%<!-- fig note: the generator --> share, 40% flat").is_empty());
}
