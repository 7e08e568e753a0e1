//! SVG picture of an episode: the city, the cars' tracks, the route and its outcome.

use super::city::Action;
use super::instance::NavInstance;
use super::planner::plan;
use super::world::{replay, World};
use std::fmt::Write as _;

/// An SVG picture of one episode: buildings and streets, each car's track as driven during the episode (faint),
/// the cars where the episode ended, the agent's path, start and goal, a red ✕ where it died, and a title line with
/// the outcome and the step count.
///
/// # Panics
/// As [`World::new`], on a malformed instance.
pub fn render_svg(inst: &NavInstance, actions: &[Action]) -> String {
    const CELL: i32 = 24;
    const HEADER: i32 = 40;
    const MIN_WIDTH: i32 = 600;
    const LEGEND: [(&str, &str); 5] = [
        ("#2ca02c", "● start"),
        ("#8e44ad", "◆ goal"),
        ("#1f77b4", "— path"),
        ("#e67e22", "— car tracks, ■ cars at the end"),
        ("#d62728", "✕ death"),
    ];
    let world = World::new(inst);
    let r = replay(inst, actions);
    let (w, h) = (world.city.width, world.city.height);
    let centre = |(x, y): (i32, i32)| (x * CELL + CELL / 2, y * CELL + CELL / 2);
    let mut s = String::new();
    // Wide enough for the title line even for a small city.
    let (width, height) = ((w * CELL).max(MIN_WIDTH), h * CELL + HEADER);
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    let outcome = if r.reached {
        let planner = plan(inst).map_or("none".to_string(), |(p, _)| p.len().to_string());
        format!("reached the goal in {} steps (planner: {planner})", r.steps)
    } else if let Some((x, y)) = r.death_cell {
        format!("died at ({x}, {y}) after {} steps", r.steps)
    } else if r.timed_out {
        format!("timed out after {} steps", r.steps)
    } else {
        format!("stopped short of the goal after {} steps", r.steps)
    };
    let _ = writeln!(
        s,
        r#"<text x="4" y="14">{} city {}, {w}x{h}, {} cars at {}/{} cells per tick: {outcome}</text>"#,
        inst.pattern.name(),
        inst.city_seed,
        world.traffic.cars.len(),
        inst.speed_cells,
        inst.speed_ticks,
    );
    s.push_str(r#"<text x="4" y="30">"#);
    for (i, (colour, label)) in LEGEND.into_iter().enumerate() {
        let gap = if i == 0 { 0 } else { 12 };
        let _ = write!(s, r#"<tspan fill="{colour}" dx="{gap}">{label}</tspan>"#);
    }
    s.push_str("</text>\n");
    let _ = writeln!(s, r#"<g transform="translate(0,{HEADER})">"#);
    let _ = writeln!(s, r##"<rect width="{}" height="{}" fill="#5a5a5a"/>"##, w * CELL, h * CELL);
    // Streets as horizontal runs, one rect each.
    for y in 0..h {
        let mut x = 0;
        while x < w {
            if !world.city.is_street((x, y)) {
                x += 1;
                continue;
            }
            let x0 = x;
            while x < w && world.city.is_street((x, y)) {
                x += 1;
            }
            let _ = writeln!(
                s,
                r##"<rect x="{}" y="{}" width="{}" height="{CELL}" fill="#ececec"/>"##,
                x0 * CELL,
                y * CELL,
                (x - x0) * CELL
            );
        }
    }
    for car in &world.traffic.cars {
        // The part of the track the car drove during the episode (the whole track once it completed a cycle).
        let (from, to) = (world.traffic.travelled(car, 0), world.traffic.travelled(car, r.steps as u32));
        let period = 2 * (car.len as u64 - 1);
        let indices = (from..=to.min(from + period)).map(|d| car.index(d));
        let (lo, hi) = indices.fold((i32::MAX, i32::MIN), |(lo, hi), i| (lo.min(i), hi.max(i)));
        let ((x1, y1), (x2, y2)) = (centre(car.cell_at_index(lo)), centre(car.cell_at_index(hi)));
        let _ = writeln!(
            s,
            "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"#e67e22\" stroke-opacity=\"0.35\" \
             stroke-width=\"7\" stroke-linecap=\"round\"/>"
        );
        let (cx, cy) = centre(world.traffic.position(car, r.steps as u32));
        let _ = writeln!(s, r##"<rect x="{}" y="{}" width="8" height="8" fill="#e67e22"/>"##, cx - 4, cy - 4);
    }
    let points: Vec<String> = r.path.iter().map(|&c| centre(c)).map(|(x, y)| format!("{x},{y}")).collect();
    let _ = writeln!(
        s,
        r##"<polyline points="{}" fill="none" stroke="#1f77b4" stroke-width="3" stroke-linejoin="round"/>"##,
        points.join(" ")
    );
    let (sx, sy) = centre(inst.start);
    let _ = writeln!(s, r##"<circle cx="{sx}" cy="{sy}" r="5" fill="#2ca02c"/>"##);
    let (gx, gy) = centre(inst.goal);
    let _ = writeln!(
        s,
        r##"<polygon points="{gx},{} {},{gy} {gx},{} {},{gy}" fill="#8e44ad"/>"##,
        gy - 7,
        gx + 7,
        gy + 7,
        gx - 7
    );
    if let Some(c) = r.death_cell {
        let (x, y) = centre(c);
        let _ = writeln!(
            s,
            r##"<path d="M{} {} L{} {} M{} {} L{} {}" stroke="#d62728" stroke-width="3"/>"##,
            x - 6,
            y - 6,
            x + 6,
            y + 6,
            x - 6,
            y + 6,
            x + 6,
            y - 6
        );
    }
    s.push_str("</g>\n</svg>\n");
    s
}
