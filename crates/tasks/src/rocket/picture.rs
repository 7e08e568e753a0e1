//! The rocket task's picture: the flight of the correct launch (the hand-written solver's) and of a solver's
//! launch on one instance, with the target and its 5% tolerance marked on the ground.
use super::flight::fly;
use super::instance::{Env, Landing, Launch, RocketInstance};
use super::{FLIGHT_CAP, SUCCESS_TOLERANCE};
use std::fmt::Write as _;

/// Picture size in pixels.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 420.0;
/// Plot area margins: left (axis labels), right, top (title and legend), bottom (axis labels).
const MARGIN: (f64, f64, f64, f64) = (64.0, 20.0, 66.0, 40.0);
/// Points kept per drawn flight.
const MAX_POINTS: usize = 400;
/// How far beyond the correct flight the view may stretch to show a solver's flight before clipping it (heights
/// are shown up to the larger of this many times the correct flight's and the view's width).
const MAX_STRETCH: f64 = 20.0;

const CORRECT: &str = "#2ca02c";
const SOLVER: &str = "#1f77b4";
const TARGET: &str = "#d62728";

/// A flight as drawn: its points (x, y) in metres, ending at the landing, and how it ended.
struct Flight {
    points: Vec<(f64, f64)>,
    landing: Landing,
}

impl Flight {
    fn of(env: &Env, launch: &Launch) -> Option<Flight> {
        if !(launch.vx.is_finite() && launch.vy.is_finite()) {
            return None;
        }
        let mut all = Vec::new();
        let landing = fly(env, launch.vx, launch.vy, |_, s| all.push((s[0], s[1])));
        if landing.landed {
            all.push((landing.distance, 0.0));
        }
        all.retain(|(x, y)| x.is_finite() && y.is_finite());
        let step = all.len().div_ceil(MAX_POINTS).max(1);
        let last = all.last().copied();
        let mut points: Vec<_> = all.into_iter().step_by(step).collect();
        if let Some(l) = last.filter(|l| points.last() != Some(l)) {
            points.push(l);
        }
        Some(Flight { points, landing })
    }

    fn bounds(&self) -> (f64, f64, f64) {
        self.points.iter().fold((0.0f64, 0.0f64, 0.0f64), |(lo, hi, top), &(x, y)| (lo.min(x), hi.max(x), top.max(y)))
    }
}

/// A "nice" tick step (1, 2 or 5 × 10^k) giving about `target` ticks over `span`.
fn tick_step(span: f64, target: f64) -> f64 {
    let raw = (span / target).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag)
}

fn metres(x: f64) -> String {
    if x.abs() >= 10_000.0 {
        format!("{:.1} km", x / 1000.0)
    } else {
        format!("{x:.0} m")
    }
}

/// The SVG: axes in metres (horizontal and vertical scales differ), the launch site, the target with its
/// tolerance band, the correct flight (green) and the solver's (blue, dashed), clipped to the view when the
/// solver's flies far beyond the correct one (a note then says where it went).
pub(super) fn render(inst: &RocketInstance, correct: &Launch, answer: Option<&Launch>) -> String {
    let env = inst.env();
    let right = Flight::of(&env, correct);
    let solver = answer.and_then(|a| Flight::of(&env, a));
    let (_, r_hi, r_top) = right.as_ref().map_or((0.0, inst.distance, inst.altitude), Flight::bounds);
    let base_x = r_hi.max(inst.distance * (1.0 + SUCCESS_TOLERANCE)).max(1.0);
    let base_y = r_top.max(inst.altitude).max(1.0);
    let (s_lo, s_hi, s_top) = solver.as_ref().map_or((0.0, 0.0, 0.0), Flight::bounds);
    let x_max = 1.05 * base_x.max(s_hi.min(MAX_STRETCH * base_x));
    let x_min = 1.05 * s_lo.max(-MAX_STRETCH * base_x).min(0.0);
    let y_max = 1.1 * base_y.max(s_top.min((MAX_STRETCH * base_y).max(x_max - x_min)));
    let clipped = s_hi > x_max || s_lo < x_min || s_top > y_max;

    let (ml, mr, mt, mb) = MARGIN;
    let (pw, ph) = (WIDTH - ml - mr, HEIGHT - mt - mb);
    let px = |x: f64| ml + (x - x_min) / (x_max - x_min) * pw;
    let py = |y: f64| mt + ph - y / y_max * ph;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} \
         {HEIGHT}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    let _ = writeln!(s, r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="6" y="15">target {} after {:.2} s; g = {} m/s², air {} kg/m³, launch from {}</text>"#,
        metres(inst.distance),
        inst.flight_time,
        inst.gravity,
        inst.air_density,
        metres(inst.altitude)
    );
    let outcome = match (answer, &solver) {
        (None, _) => "the solver gave no answer".to_string(),
        (Some(_), None) => "the solver's launch is not a finite velocity".to_string(),
        (Some(a), Some(f)) => {
            let launch = format!("solver launches at ({:.1}, {:.1}) m/s", a.vx, a.vy);
            if f.landing.landed {
                let miss = (f.landing.distance - inst.distance).abs() / inst.distance;
                let verdict = if miss <= SUCCESS_TOLERANCE { "success" } else { "failure" };
                format!(
                    "{launch}: lands at {} after {:.1} s, {:.1}% off target: {verdict}",
                    metres(f.landing.distance),
                    f.landing.time,
                    100.0 * miss
                )
            } else {
                format!("{launch}: still in the air after {FLIGHT_CAP:.0} s (or diverged): failure")
            }
        }
    };
    let _ = writeln!(s, r#"<text x="6" y="31">{outcome}</text>"#);
    let correct_text = correct_legend(correct);
    let _ = writeln!(
        s,
        r#"<text x="6" y="47"><tspan fill="{CORRECT}">━ correct launch {correct_text}</tspan><tspan fill="{SOLVER}" dx="12">╍ solver's launch</tspan><tspan fill="{TARGET}" dx="12">▼ target, ▬ within 5%</tspan></text>"#
    );
    // Axes and grid.
    let _ = writeln!(s, r##"<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#999"/>"##);
    let xs = tick_step(x_max - x_min, 8.0);
    let mut t = (x_min / xs).ceil() * xs;
    while t <= x_max {
        let x = px(t);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{mt}" x2="{x:.1}" y2="{:.1}" stroke="#e4e4e4"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            mt + ph,
            mt + ph + 14.0,
            t
        );
        t += xs;
    }
    let ys = tick_step(y_max, 5.0);
    let mut t = 0.0;
    while t <= y_max {
        let y = py(t);
        let _ = writeln!(
            s,
            r##"<line x1="{ml}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e4e4e4"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            ml + pw,
            ml - 4.0,
            y + 4.0,
            t
        );
        t += ys;
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">distance (m)</text>"#,
        ml + pw / 2.0,
        HEIGHT - 6.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(14,{:.1}) rotate(-90)" text-anchor="middle">height (m)</text>"#,
        mt + ph / 2.0
    );
    // Ground, launch site, target and its tolerance band.
    let _ = writeln!(
        s,
        r##"<line x1="{ml}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#6b4f2a" stroke-width="2"/>"##,
        py(0.0),
        ml + pw
    );
    if inst.altitude > 0.0 {
        let _ = writeln!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="6" height="{:.1}" fill="#8c8c8c"/>"##,
            px(0.0) - 3.0,
            py(inst.altitude),
            py(0.0) - py(inst.altitude)
        );
    }
    let (band_lo, band_hi) =
        (px(inst.distance * (1.0 - SUCCESS_TOLERANCE)), px(inst.distance * (1.0 + SUCCESS_TOLERANCE)));
    let _ = writeln!(
        s,
        r#"<rect x="{band_lo:.1}" y="{:.1}" width="{:.1}" height="6" fill="{TARGET}" fill-opacity="0.35"/>"#,
        py(0.0) - 3.0,
        band_hi - band_lo
    );
    let (tx, ty) = (px(inst.distance), py(0.0));
    let _ = writeln!(s, r#"<path d="M {tx:.1} {ty:.1} l -6 -11 l 12 0 z" fill="{TARGET}"/>"#);
    // Flights, clipped to the plot area.
    let _ = writeln!(
        s,
        r#"<clipPath id="plot"><rect x="{ml}" y="{}" width="{pw}" height="{}"/></clipPath>"#,
        mt - 1.0,
        ph + 1.0
    );
    let _ = writeln!(s, r#"<g clip-path="url(#plot)" fill="none" stroke-width="2.2">"#);
    let polyline =
        |f: &Flight| f.points.iter().map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y))).collect::<Vec<_>>().join(" ");
    if let Some(f) = &right {
        let _ = writeln!(s, r#"<polyline points="{}" stroke="{CORRECT}"/>"#, polyline(f));
    }
    if let Some(f) = &solver {
        let _ = writeln!(s, r#"<polyline points="{}" stroke="{SOLVER}" stroke-dasharray="7 4"/>"#, polyline(f));
        if f.landing.landed {
            let (lx, ly) = (px(f.landing.distance), py(0.0));
            let _ = writeln!(
                s,
                r#"<path d="M {:.1} {:.1} l 10 10 m 0 -10 l -10 10" stroke="{SOLVER}"/>"#,
                lx - 5.0,
                ly - 5.0
            );
        }
    }
    s.push_str("</g>\n");
    if let (true, Some(f)) = (clipped, &solver) {
        let (_, hi, top) = f.bounds();
        let went = if f.landing.landed {
            format!("lands at {}", metres(f.landing.distance))
        } else {
            format!("reaches {} downrange", metres(hi))
        };
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="{SOLVER}">solver's flight leaves the picture: peak {}, {went}</text>"#,
            ml + pw - 6.0,
            mt + 14.0,
            metres(top)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn correct_legend(l: &Launch) -> String {
    format!("({:.1}, {:.1}) m/s", l.vx, l.vy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rocket;
    use driftbench_core::Task;

    fn pluto() -> RocketInstance {
        RocketInstance { distance: 700.0, flight_time: 15.0, gravity: 0.62, air_density: 1.2, altitude: 0.0 }
    }

    #[test]
    fn the_correct_launch_is_drawn_as_a_success() {
        let inst = pluto();
        let (correct, _) = Rocket.solve_symbolic(&inst);
        let svg = Rocket.render_svg(&inst, Some(&correct)).unwrap();
        assert!(svg.contains("off target: success"), "{svg}");
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert!(!svg.contains("leaves the picture"));
    }

    #[test]
    fn a_launch_far_off_is_clipped_and_said_so() {
        // A launch tuned for Earth's gravity flies far too high and long on Pluto.
        let svg = Rocket.render_svg(&pluto(), Some(&Launch { vx: 5000.0, vy: 400.0 })).unwrap();
        assert!(svg.contains("failure") && svg.contains("leaves the picture"), "{svg}");
        // Within the stretch the whole flight is shown.
        let svg = Rocket.render_svg(&pluto(), Some(&Launch { vx: 30.0, vy: 20.0 })).unwrap();
        assert!(svg.contains("failure") && !svg.contains("leaves the picture"), "{svg}");
        let none = Rocket.render_svg(&pluto(), None).unwrap();
        assert!(none.contains("no answer") && none.matches("<polyline").count() == 1, "{none}");
        let bad = Rocket.render_svg(&pluto(), Some(&Launch { vx: f64::NAN, vy: 1.0 })).unwrap();
        assert!(bad.contains("not a finite velocity"), "{bad}");
    }

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(tick_step(1000.0, 8.0), 200.0);
        assert_eq!(tick_step(37.0, 5.0), 10.0);
        assert_eq!(tick_step(7.0, 8.0), 1.0);
    }
}
