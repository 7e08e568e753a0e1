//! Generalisation curves as SVG: success against drift level, one line per solver, 95% bands.
use plotters::prelude::*;

/// One solver's line: success % per level (index = level) with its band.
pub struct Line<'a> {
    /// Legend name.
    pub name: &'a str,
    /// (success %, band low %, band high %) per level 0..=4.
    pub points: Vec<(f64, f64, f64)>,
}

/// Colours in solver order (symbolic first): colour-blind-safe Okabe-Ito palette.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 0, 0),
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];

/// Draws one (task, axis) curve into an SVG string.
pub fn curve(title: &str, x_labels: &[String], lines: &[Line]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let n = x_labels.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(52)
            .build_cartesian_2d(-0.2f64..(n - 0.8), 0f64..101f64)
            .map_err(|e| e.to_string())?;
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
            .map_err(|e| e.to_string())?;
        // The training distribution, shaded.
        chart
            .draw_series(std::iter::once(Rectangle::new([(-0.2, 0.0), (0.2, 101.0)], RGBColor(230, 230, 230).filled())))
            .map_err(|e| e.to_string())?;
        for (i, line) in lines.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let band: Vec<(f64, f64)> = line
                .points
                .iter()
                .enumerate()
                .map(|(x, p)| (x as f64, p.2))
                .chain(line.points.iter().enumerate().rev().map(|(x, p)| (x as f64, p.1)))
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.15)))).map_err(|e| e.to_string())?;
            // Offset coincident lines slightly so that a perfect solver does not hide another.
            let dx = (i as f64 - (lines.len() as f64 - 1.0) / 2.0) * 0.02;
            let pts: Vec<(f64, f64)> = line.points.iter().enumerate().map(|(x, p)| (x as f64 + dx, p.0)).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(line.name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
            chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, colour.filled())))
                .map_err(|e| e.to_string())?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}
