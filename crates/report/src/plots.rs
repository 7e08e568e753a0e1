//! SVG figures: generalisation curves (success against drift level, one line per solver, 95% bands), the
//! per-task overview (every axis in one figure) and the sample-efficiency curves.
use plotters::coord::Shift;
use plotters::prelude::*;

/// One solver's line: success % per level (index = level) with its band.
pub struct Line<'a> {
    /// Legend name.
    pub name: &'a str,
    /// (success %, band low %, band high %) per level 0..=4.
    pub points: Vec<(f64, f64, f64)>,
    /// Per point: whether some of the cell's correct answers were out of the solver's reach (not expressible by
    /// its output, or needing outputs never supervised in training); drawn as a cross instead of a dot.
    pub unreachable: Vec<bool>,
}

/// One network's learning curve: validation success and training loss against optimiser steps.
pub struct LearningLine<'a> {
    /// Legend name.
    pub name: &'a str,
    /// Colour index (the solver's position in the task's solver list).
    pub colour: usize,
    /// (step, validation success %).
    pub val: Vec<(f64, f64)>,
    /// (step, training loss); only positive values are drawn (log scale).
    pub loss: Vec<(f64, f64)>,
}

/// One panel of a multi-panel figure: a title, the x labels and the lines.
pub struct Panel<'a> {
    /// Panel title.
    pub title: String,
    /// Label of each x position.
    pub x_labels: Vec<String>,
    /// The lines.
    pub lines: Vec<Line<'a>>,
}

/// One solver's sample-efficiency line: (training instances, success %) points; a hand-written solver has one
/// point at zero instances and is drawn as a dashed level across the panel.
pub struct SampleLine<'a> {
    /// Legend name.
    pub name: &'a str,
    /// Colour index (the solver's position in the task's solver list, so colours match the other figures).
    pub colour: usize,
    /// (training instances, success %) in increasing order of instances; 0 instances for a hand-written solver.
    pub points: Vec<(f64, f64)>,
}

/// Colours in solver order (symbolic first): colour-blind-safe Okabe-Ito palette, then two extra greys.
const PALETTE: [RGBColor; 9] = [
    RGBColor(0, 0, 0),
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(180, 60, 60),
];

/// Colour of solver `i`.
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn draw_curve(
    area: &Area,
    title: &str,
    x_labels: &[String],
    lines: &[Line],
    font: u32,
    legend: bool,
) -> Result<(), String> {
    let n = x_labels.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", font))
        .margin(10)
        .x_label_area_size(44)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.2f64..(n - 0.8), 0f64..101f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_labels(x_labels.len())
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                x_labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_desc("drift level (L0 = training distribution)")
        .y_desc("success %")
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    // The training distribution, shaded.
    chart
        .draw_series(std::iter::once(Rectangle::new([(-0.2, 0.0), (0.2, 101.0)], RGBColor(230, 230, 230).filled())))
        .map_err(err)?;
    for (i, line) in lines.iter().enumerate() {
        let c = colour(i);
        let band: Vec<(f64, f64)> = line
            .points
            .iter()
            .enumerate()
            .map(|(x, p)| (x as f64, p.2))
            .chain(line.points.iter().enumerate().rev().map(|(x, p)| (x as f64, p.1)))
            .collect();
        chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.15)))).map_err(err)?;
        // Offset coincident lines slightly so that a perfect solver does not hide another.
        let dx = (i as f64 - (lines.len() as f64 - 1.0) / 2.0) * 0.02;
        let pts: Vec<(f64, f64)> = line.points.iter().enumerate().map(|(x, p)| (x as f64 + dx, p.0)).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
            .map_err(err)?
            .label(line.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        let reach = |k: usize| !line.unreachable.get(k).copied().unwrap_or(false);
        chart
            .draw_series(pts.iter().enumerate().filter(|(k, _)| reach(*k)).map(|(_, &p)| Circle::new(p, 3, c.filled())))
            .map_err(err)?;
        chart
            .draw_series(
                pts.iter().enumerate().filter(|(k, _)| !reach(*k)).map(|(_, &p)| Cross::new(p, 6, c.stroke_width(2))),
            )
            .map_err(err)?;
    }
    if legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// Draws one (task, axis) curve into an SVG string.
pub fn curve(title: &str, x_labels: &[String], lines: &[Line]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw_curve(&root, title, x_labels, lines, 18, true)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Width of the legend column of multi-panel figures, in pixels.
const LEGEND_W: u32 = 190;

/// Splits a figure into a grid of `n` panels, two per row (one panel: the whole width), under a caption, with one legend for all panels in a
/// column on the right (so that no legend hides a line); returns the panels.
fn grid<'a>(root: &Area<'a>, title: &str, n: usize, legend: &[(&str, RGBColor)]) -> Result<Vec<Area<'a>>, String> {
    root.fill(&WHITE).map_err(err)?;
    let body = root.titled(title, ("sans-serif", 20)).map_err(err)?;
    let (w, _) = body.dim_in_pixel();
    let (panels, key) = body.split_horizontally(w.saturating_sub(LEGEND_W));
    for (i, (name, c)) in legend.iter().enumerate() {
        let y = 40 + 24 * i as i32;
        key.draw(&PathElement::new(vec![(10, y), (36, y)], c.stroke_width(3))).map_err(err)?;
        key.draw(&Text::new(name.to_string(), (44, y - 7), ("sans-serif", 14))).map_err(err)?;
    }
    // A single panel takes the whole width.
    let cols = if n == 1 { 1 } else { 2 };
    let rows = n.div_ceil(cols).max(1);
    Ok(panels.split_evenly((rows, cols)).into_iter().take(n).collect())
}

/// Every axis of a task in one figure, two panels per row.
pub fn overview(title: &str, panels: &[Panel]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let rows = panels.len().div_ceil(2).max(1) as u32;
        let root = SVGBackend::with_string(&mut svg, (1100 + LEGEND_W, 40 + 360 * rows)).into_drawing_area();
        let legend: Vec<(&str, RGBColor)> = panels
            .first()
            .map(|p| p.lines.iter().enumerate().map(|(i, l)| (l.name, colour(i))).collect())
            .unwrap_or_default();
        for (area, p) in grid(&root, title, panels.len(), &legend)?.iter().zip(panels) {
            draw_curve(area, &p.title, &p.x_labels, &p.lines, 15, false)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Success against training-set size (log scale), one panel per judged cell (level 0, then the farthest level
/// of each axis). A hand-written solver, trained on nothing, is drawn at the "0" tick and as a dashed level.
pub fn sample_efficiency(title: &str, panels: &[(String, Vec<SampleLine>)]) -> Result<String, String> {
    // The "0 instances" point sits one decade left of the smallest size drawn (100).
    log_x_panels(title, panels, 1.0, "training instances (log scale; 0 = hand-written)")
}

/// Level-0 success against deaths during training (log scale), one line per learner run that records its
/// deaths-to-competence curve, one point per learner that only has a total (program search), and the
/// hand-written solver as a dashed level at zero deaths.
pub fn deaths_to_competence(title: &str, lines: Vec<SampleLine>) -> Result<String, String> {
    let panel = ("level-0 success against deaths during training".to_string(), lines);
    log_x_panels(title, std::slice::from_ref(&panel), -1.0, "deaths during training (log scale; 0 = none)")
}

/// Panels of success % against a count on a log scale; a count of 0 is drawn at `zero_x` (a decade position
/// left of every count drawn) and labelled "0"; a line of one point at 0 is drawn as a dashed level.
fn log_x_panels(
    title: &str,
    panels: &[(String, Vec<SampleLine>)],
    zero_x: f64,
    x_desc: &str,
) -> Result<String, String> {
    let max_n = panels.iter().flat_map(|p| p.1.iter().flat_map(|l| l.points.iter().map(|q| q.0))).fold(10.0, f64::max);
    let x_max = max_n.log10().ceil() + 0.3;
    let to_x = |n: f64| if n <= 0.0 { zero_x } else { n.log10() };
    let mut svg = String::new();
    {
        let rows = panels.len().div_ceil(2).max(1) as u32;
        let root = SVGBackend::with_string(&mut svg, (1100 + LEGEND_W, 40 + 360 * rows)).into_drawing_area();
        let mut legend: Vec<(&str, RGBColor)> = Vec::new();
        for l in panels.iter().flat_map(|p| p.1.iter()) {
            if !legend.iter().any(|x| x.0 == l.name) {
                legend.push((l.name, colour(l.colour)));
            }
        }
        for (area, (panel_title, lines)) in grid(&root, title, panels.len(), &legend)?.iter().zip(panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(panel_title, ("sans-serif", 15))
                .margin(10)
                .x_label_area_size(44)
                .y_label_area_size(50)
                .build_cartesian_2d((zero_x - 0.3)..x_max, 0f64..101f64)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_labels(((x_max - zero_x).ceil() as usize) + 1)
                .x_label_formatter(&|x| {
                    let i = x.round();
                    if (x - i).abs() > 1e-6 {
                        String::new()
                    } else if i == zero_x {
                        "0".into()
                    } else {
                        format!("10^{i}")
                    }
                })
                .x_desc(x_desc)
                .y_desc("success %")
                .light_line_style(WHITE.mix(0.0))
                .draw()
                .map_err(err)?;
            for line in lines {
                let c = colour(line.colour);
                let pts: Vec<(f64, f64)> = line.points.iter().map(|&(n, s)| (to_x(n), s)).collect();
                if pts.len() == 1 && line.points[0].0 <= 0.0 {
                    let y = pts[0].1;
                    chart
                        .draw_series(DashedLineSeries::new(vec![(zero_x, y), (x_max, y)], 6, 4, c.stroke_width(1)))
                        .map_err(err)?
                        .label(line.name)
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
                } else {
                    chart
                        .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                        .map_err(err)?
                        .label(line.name)
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
                }
                chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, c.filled()))).map_err(err)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// One figure per task: every network's validation success (left) and training loss (right, log scale) against
/// optimiser steps, so that "trained well in distribution" can be seen rather than asserted.
pub fn learning(title: &str, lines: &[LearningLine]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1100 + LEGEND_W, 400)).into_drawing_area();
        let legend: Vec<(&str, RGBColor)> = lines.iter().map(|l| (l.name, colour(l.colour))).collect();
        let areas = grid(&root, title, 2, &legend)?;
        let x_max = lines.iter().flat_map(|l| l.val.iter().chain(&l.loss).map(|p| p.0)).fold(1.0, f64::max) * 1.02;
        let mut chart = ChartBuilder::on(&areas[0])
            .caption("level-0 validation success", ("sans-serif", 15))
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..x_max, 0f64..101f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("optimiser steps (updates)")
            .y_desc("success %")
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for l in lines {
            let c = colour(l.colour);
            chart.draw_series(LineSeries::new(l.val.clone(), c.stroke_width(2))).map_err(err)?;
            chart.draw_series(l.val.iter().map(|&p| Circle::new(p, 2, c.filled()))).map_err(err)?;
        }
        let positive: Vec<f64> =
            lines.iter().flat_map(|l| l.loss.iter().map(|p| p.1)).filter(|v| *v > 0.0 && v.is_finite()).collect();
        let lo = positive.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = positive.iter().copied().fold(0.0, f64::max);
        let (lo, hi) = if positive.is_empty() { (1e-3, 1.0) } else { (lo * 0.8, hi * 1.25) };
        let mut chart = ChartBuilder::on(&areas[1])
            .caption("training loss (log scale)", ("sans-serif", 15))
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..x_max, (lo..hi).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("optimiser steps (updates)")
            .y_desc("loss")
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for l in lines {
            let c = colour(l.colour);
            let pts: Vec<(f64, f64)> = l.loss.iter().copied().filter(|p| p.1 > 0.0 && p.1.is_finite()).collect();
            chart.draw_series(LineSeries::new(pts, c.stroke_width(2))).map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}
