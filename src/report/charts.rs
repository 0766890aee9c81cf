//! Charts as SVG and PNG, drawn with plotters from [`Figures`].
//!
//! Each chart is drawn once, as SVG, in the report's language (every
//! title, axis name, legend and label comes from the locale file, keys
//! `c_*`); the PNG is that SVG rasterised by `resvg`, which shapes text
//! with `rustybuzz`, so Arabic is joined and laid right to left and the
//! PNG and the SVG are the same picture. Text is DejaVu Sans compiled into
//! the binary (it has the Arabic glyphs), so the PNGs render the same on a
//! machine with no fonts at all. Numbers keep Western digits. Colours are
//! the Okabe–Ito palette, safe for colour-blind readers.

use std::sync::Once;

use anyhow::{anyhow, Result};
use chrono::NaiveDate;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::figures::{Figures, RESPONSE_BUCKETS};
use crate::config::locale::Locale;
use crate::pricing::money::format_nanos;
use crate::schema::CLASSES;
use std::sync::Arc;

pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 480;
const FONT: &str = "sans-serif";

const BLUE: RGBColor = RGBColor(0, 114, 178);
const ORANGE: RGBColor = RGBColor(230, 159, 0);
const VERMILLION: RGBColor = RGBColor(213, 94, 0);
const GREEN: RGBColor = RGBColor(0, 158, 115);
const SKY: RGBColor = RGBColor(86, 180, 233);
const GREY: RGBColor = RGBColor(153, 153, 153);
const INK: RGBColor = RGBColor(34, 34, 34);

/// Colour of each class, in `CLASSES` order.
const CLASS_COLOURS: [RGBColor; 5] = [GREEN, GREY, VERMILLION, ORANGE, BLUE];

/// The charts every run draws: file stem and title.
pub const CHARTS: [(&str, &str); 7] = [
    ("spend_by_month", "Spend by month"),
    ("spend_by_country", "Spend by country"),
    ("outbound_by_week", "Outbound messages by class per week"),
    ("first_response", "Time to first response"),
    (
        "windows_by_week",
        "Windows opened and lapsed unanswered per week",
    ),
    ("inbound_heatmap", "Customer messages by weekday and hour"),
    (
        "lapses_by_hour",
        "Windows opened by weekday and hour, shaded by the share that lapsed",
    ),
];

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a valid TrueType file shipped by the `dejavu` crate.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

/// One chart as SVG text, in the language of `locale`.
pub fn svg(name: &str, figures: &Figures, locale: &Locale) -> Result<String> {
    register_font();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, HEIGHT)).into_drawing_area();
        draw(name, figures, &Words(locale), &root)?;
        root.present().map_err(|e| anyhow!("drawing {name}: {e}"))?;
    }
    Ok(with_digits(&text, locale.get("digits")))
}

/// The SVG with the digits of its text in the locale's own (its `digits`
/// key, ten characters for 0–9; Western digits when it has none or they
/// are not ten). Only text content changes, never coordinates.
fn with_digits(svg: &str, digits: &str) -> String {
    let digits: Vec<char> = digits.chars().collect();
    if digits.len() != 10 || digits.iter().copied().eq('0'..='9') {
        return svg.to_string();
    }
    let mut out = String::with_capacity(svg.len());
    let mut in_text = false;
    let mut rest = svg;
    while let Some(at) = rest.find('<') {
        let (content, tag) = rest.split_at(at);
        if in_text {
            out.extend(content.chars().map(|c| match c.to_digit(10) {
                Some(d) if c.is_ascii_digit() => digits[d as usize],
                _ => c,
            }));
        } else {
            out.push_str(content);
        }
        let end = tag.find('>').map_or(tag.len(), |e| e + 1);
        out.push_str(&tag[..end]);
        in_text = tag.starts_with("<text");
        rest = &tag[end..];
    }
    out.push_str(rest);
    out
}

/// A chart's SVG (from [`svg`]) as PNG bytes.
pub fn png(svg: &str) -> Result<Vec<u8>> {
    static FONTS: std::sync::OnceLock<Arc<resvg::usvg::fontdb::Database>> =
        std::sync::OnceLock::new();
    let fonts = FONTS.get_or_init(|| {
        let mut fonts = resvg::usvg::fontdb::Database::new();
        fonts.load_font_data(dejavu::sans::regular().to_vec());
        fonts.set_sans_serif_family("DejaVu Sans");
        Arc::new(fonts)
    });
    let options = resvg::usvg::Options {
        fontdb: fonts.clone(),
        ..Default::default()
    };
    let tree = resvg::usvg::Tree::from_str(svg, &options)
        .map_err(|e| anyhow!("reading a chart's SVG: {e}"))?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(WIDTH, HEIGHT)
        .ok_or_else(|| anyhow!("a chart of {WIDTH}x{HEIGHT} pixels"))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| anyhow!("encoding a chart as PNG: {e}"))
}

/// The chart text of one language: locale keys `c_<key>`, `{name}`
/// placeholders filled in.
struct Words<'a>(&'a Locale);

impl Words<'_> {
    fn get(&self, key: &str) -> String {
        self.0.get(&format!("c_{key}")).to_string()
    }

    fn fill(&self, key: &str, values: &[(&str, String)]) -> String {
        values.iter().fold(self.get(key), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
    }
}

type Area<'a, DB> = DrawingArea<DB, Shift>;

fn draw<DB: DrawingBackend>(name: &str, f: &Figures, w: &Words, root: &Area<DB>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let result = match name {
        "spend_by_month" => spend_by_month(f, w, root),
        "spend_by_country" => spend_by_country(f, w, root),
        "outbound_by_week" => outbound_by_week(f, w, root),
        "first_response" => first_response(f, w, root),
        "windows_by_week" => windows_by_week(f, w, root),
        "inbound_heatmap" => inbound_heatmap(f, w, root),
        "lapses_by_hour" => lapses_by_hour(f, w, root),
        other => return Err(anyhow!("no chart named {other}")),
    };
    result.map_err(|e| anyhow!("drawing {name}: {e}"))
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn title_style() -> TextStyle<'static> {
    (FONT, 22).into_font().color(&INK)
}

fn label_style() -> TextStyle<'static> {
    (FONT, 14).into_font().color(&INK)
}

fn money(nanos: i64) -> String {
    let units = nanos as f64 / 1e9;
    if units.abs() >= 100.0 {
        format!("{units:.0}")
    } else {
        format_nanos((nanos / 10_000_000) * 10_000_000)
    }
}

/// Category labels on an f64 axis centred on 0, 1, 2, …; at most `max`
/// labels, so a long run of weeks does not overlap.
/// `MM-DD` of each week's Monday (`YYYY-MM-DD`), with a `*` on a week the
/// period covers only in part: its count is of fewer days than the others'
/// (a first week of two days looks like a fall in activity otherwise).
fn week_labels<'a>(
    weeks: impl Iterator<Item = &'a str>,
    (first, last): (Option<NaiveDate>, Option<NaiveDate>),
) -> Vec<String> {
    weeks
        .map(|week| {
            let monday = NaiveDate::parse_from_str(week, "%Y-%m-%d").ok();
            let partial = monday.is_some_and(|monday| {
                first.is_some_and(|first| monday < first)
                    || last.is_some_and(|last| monday + chrono::Days::new(6) > last)
            });
            format!("{}{}", &week[5..], if partial { "*" } else { "" })
        })
        .collect()
}

fn weekly_title(w: &Words, what: &str, labels: &[String]) -> String {
    if labels.iter().any(|l| l.ends_with('*')) {
        format!(
            "{what} ({}; {})",
            w.get("week_starting"),
            w.get("part_week")
        )
    } else {
        format!("{what} ({})", w.get("week_starting"))
    }
}

fn category_label(labels: &[String], value: f64, max: usize) -> String {
    let i = value.round();
    let step = labels.len().div_ceil(max.max(1)).max(1);
    if (value - i).abs() > 0.01 || i < 0.0 || i as usize >= labels.len() || (i as usize) % step != 0
    {
        return String::new();
    }
    labels[i as usize].clone()
}

/// Stacked bars: `stacks[i]` are the segment heights of bar i.
/// How far above the tallest bar the y axis goes: enough empty space for
/// the legend (one line per series, upper left) to sit above the bars
/// instead of hiding their tops.
fn legend_headroom(series: usize) -> f64 {
    1.12 + 0.09 * series as f64
}

#[allow(clippy::too_many_arguments)]
fn stacked_bars<DB: DrawingBackend>(
    root: &Area<DB>,
    title: &str,
    y_desc: &str,
    labels: &[String],
    stacks: &[Vec<f64>],
    series: &[(String, RGBColor)],
    y_format: &dyn Fn(&f64) -> String,
    max_labels: usize,
    marks: &[usize],
) -> DrawResult<DB> {
    let top = stacks
        .iter()
        .map(|s| s.iter().sum::<f64>())
        .fold(0.0, f64::max)
        .max(1e-9)
        * legend_headroom(series.len());
    let n = labels.len().max(1) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(title, title_style())
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5..n - 0.5, 0.0..top)?;
    let x_format = |v: &f64| category_label(labels, *v, max_labels);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(labels.len().max(1) * 2 + 1)
        .x_label_formatter(&x_format)
        .y_label_formatter(y_format)
        .y_desc(y_desc)
        .label_style(label_style())
        .axis_desc_style(label_style())
        .draw()?;
    for (s, (name, colour)) in series.iter().enumerate() {
        let bars = stacks.iter().enumerate().map(|(i, stack)| {
            let base: f64 = stack[..s].iter().sum();
            let x = i as f64;
            Rectangle::new(
                [(x - 0.38, base), (x + 0.38, base + stack[s])],
                colour.filled(),
            )
        });
        let colour = *colour;
        chart
            .draw_series(bars)?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], colour.filled()));
    }
    // A mark before bar i: a dashed line between bars i-1 and i.
    for i in marks {
        let x = *i as f64 - 0.5;
        chart.draw_series(DashedLineSeries::new(
            [(x, 0.0), (x, top)],
            6,
            4,
            INK.stroke_width(1),
        ))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(label_style())
        .background_style(WHITE.mix(0.85))
        .border_style(GREY)
        .draw()?;
    Ok(())
}

fn spend_by_month<DB: DrawingBackend>(f: &Figures, w: &Words, root: &Area<DB>) -> DrawResult<DB> {
    let labels: Vec<String> = f.spend_by_month.iter().map(|m| m.month.clone()).collect();
    let units = |n: i64| n as f64 / 1e9;
    let stacks: Vec<Vec<f64>> = f
        .spend_by_month
        .iter()
        .map(|m| {
            vec![
                units(m.needed),
                units(m.late_reply),
                units(m.avoidable),
                units(m.service),
            ]
        })
        .collect();
    let series = [
        (w.get("series_needed"), BLUE),
        (w.get("series_late_reply"), ORANGE),
        (w.get("series_avoidable"), VERMILLION),
        (w.get("series_service"), SKY),
    ];
    let currency = [("currency", f.currency.clone())];
    let mut title = w.fill("spend_by_month", &currency);
    let y_desc = w.fill("spend_axis", &currency);
    let y_format = |v: &f64| money((*v * 1e9) as i64);
    // Where the pricing regime changes from one month to the next (a
    // period across the July 2025 switch), the chart says so.
    let regimes: Vec<&str> = f.spend_by_month.iter().map(|m| m.regime.as_str()).collect();
    // The line between the months, the change in the title (where no
    // legend or bar can hide it).
    let marks: Vec<usize> = (1..regimes.len())
        .filter(|&i| regimes[i] != regimes[i - 1])
        .collect();
    for &i in &marks {
        title.push_str(&format!(
            " · {}: {} → {}",
            labels[i],
            regimes[i - 1],
            regimes[i]
        ));
    }
    stacked_bars(
        root, &title, &y_desc, &labels, &stacks, &series, &y_format, 12, &marks,
    )
}

fn outbound_by_week<DB: DrawingBackend>(f: &Figures, w: &Words, root: &Area<DB>) -> DrawResult<DB> {
    let labels = week_labels(
        f.classes_by_week.iter().map(|w| w.week.as_str()),
        f.period_days,
    );
    let stacks: Vec<Vec<f64>> = f
        .classes_by_week
        .iter()
        .map(|w| w.counts.iter().map(|c| *c as f64).collect())
        .collect();
    let series: Vec<(String, RGBColor)> = CLASSES
        .iter()
        .map(|class| w.get(&format!("class_{class}")))
        .zip(CLASS_COLOURS)
        .collect();
    let y_format = |v: &f64| format!("{v:.0}");
    stacked_bars(
        root,
        &weekly_title(w, &w.get("outbound_by_week"), &labels),
        &w.get("messages"),
        &labels,
        &stacks,
        &series,
        &y_format,
        14,
        &[],
    )
}

fn spend_by_country<DB: DrawingBackend>(f: &Figures, w: &Words, root: &Area<DB>) -> DrawResult<DB> {
    let rows = &f.spend_by_country;
    let top = rows
        .iter()
        .map(|(_, s)| *s as f64 / 1e9)
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.15;
    let n = rows.len().max(1) as f64;
    let labels: Vec<String> = rows
        .iter()
        .map(|(c, _)| match c.as_str() {
            "Rest" => w.get("rest"),
            country => country.to_string(),
        })
        .collect();
    let title = w.fill(
        "spend_by_country",
        &[
            ("n", rows.len().saturating_sub(1).max(1).to_string()),
            ("currency", f.currency.clone()),
        ],
    );
    let mut chart = ChartBuilder::on(root)
        .caption(title, title_style())
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..top, -0.5..n - 0.5)?;
    let y_format = |v: &f64| category_label(&labels, n - 1.0 - *v, 20);
    let x_format = |v: &f64| money((*v * 1e9) as i64);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows.len() * 2 + 1)
        .y_label_formatter(&y_format)
        .x_label_formatter(&x_format)
        .x_desc(w.fill("spend_axis", &[("currency", f.currency.clone())]))
        .label_style(label_style())
        .axis_desc_style(label_style())
        .draw()?;
    chart.draw_series(rows.iter().enumerate().map(|(i, (_, spend))| {
        let y = n - 1.0 - i as f64;
        Rectangle::new(
            [(0.0, y - 0.35), (*spend as f64 / 1e9, y + 0.35)],
            BLUE.filled(),
        )
    }))?;
    chart.draw_series(rows.iter().enumerate().map(|(i, (_, spend))| {
        let y = n - 1.0 - i as f64;
        Text::new(
            format!(" {}", money(*spend)),
            (*spend as f64 / 1e9, y + 0.15),
            label_style(),
        )
    }))?;
    Ok(())
}

fn first_response<DB: DrawingBackend>(f: &Figures, w: &Words, root: &Area<DB>) -> DrawResult<DB> {
    let mut labels: Vec<String> = (0..RESPONSE_BUCKETS.len())
        .map(|i| w.get(&format!("bucket_{i}")))
        .collect();
    labels.push(w.get("no_reply"));
    let mut counts: Vec<f64> = f.response_buckets.iter().map(|c| *c as f64).collect();
    counts.push(f.unanswered as f64);
    let total: u64 = f.response_buckets.iter().sum::<u64>() + f.unanswered;
    let within = |n: usize| f.response_buckets[..n].iter().sum::<u64>();
    let pct = |n: u64| {
        if total == 0 {
            0.0
        } else {
            n as f64 * 100.0 / total as f64
        }
    };
    let title = w.fill(
        "first_response",
        &[
            ("hour", format!("{:.0}", pct(within(4)))),
            ("day", format!("{:.0}", pct(within(8)))),
        ],
    );
    let top = counts.iter().cloned().fold(0.0, f64::max).max(1.0) * 1.15;
    let mut chart = ChartBuilder::on(root)
        .caption(title, title_style())
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5..labels.len() as f64 - 0.5, 0.0..top)?;
    let x_format = |v: &f64| category_label(&labels, *v, 20);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(labels.len() * 2 + 1)
        .x_label_formatter(&x_format)
        .y_label_formatter(&|v: &f64| format!("{v:.0}"))
        .y_desc(w.get("windows"))
        .x_desc(w.get("first_reply_axis"))
        .label_style(label_style())
        .axis_desc_style(label_style())
        .draw()?;
    chart.draw_series(counts.iter().enumerate().map(|(i, c)| {
        let colour = if i == 8 { VERMILLION } else { BLUE };
        Rectangle::new(
            [(i as f64 - 0.38, 0.0), (i as f64 + 0.38, *c)],
            colour.filled(),
        )
    }))?;
    let limit = ShapeStyle::from(&INK).stroke_width(2);
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(7.5, 0.0), (7.5, top * 0.95)],
        limit,
    )))?;
    chart.draw_series(std::iter::once(Text::new(
        w.get("window_closes"),
        (5.6, top * 0.97),
        label_style(),
    )))?;
    Ok(())
}

fn windows_by_week<DB: DrawingBackend>(f: &Figures, w: &Words, root: &Area<DB>) -> DrawResult<DB> {
    let labels = week_labels(
        f.windows_by_week.iter().map(|w| w.week.as_str()),
        f.period_days,
    );
    let top = f
        .windows_by_week
        .iter()
        .map(|w| w.opened as f64)
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.15;
    let mut chart = ChartBuilder::on(root)
        .caption(
            weekly_title(w, &w.get("windows_by_week"), &labels),
            title_style(),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5..labels.len().max(1) as f64 - 0.5, 0.0..top)?;
    let x_format = |v: &f64| category_label(&labels, *v, 14);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(labels.len() * 2 + 1)
        .x_label_formatter(&x_format)
        .y_label_formatter(&|v: &f64| format!("{v:.0}"))
        .y_desc(w.get("windows"))
        .label_style(label_style())
        .axis_desc_style(label_style())
        .draw()?;
    type Series = (String, RGBColor, fn(&super::figures::WeekWindows) -> u64);
    let series: [Series; 2] = [
        (w.get("opened"), BLUE, |w| w.opened),
        (w.get("lapsed"), VERMILLION, |w| w.lapsed),
    ];
    for (name, colour, value) in series {
        let points: Vec<(f64, f64)> = f
            .windows_by_week
            .iter()
            .enumerate()
            .map(|(i, week)| (i as f64, value(week) as f64))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(3)))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(3))
            });
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 4, colour.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(label_style())
        .background_style(WHITE.mix(0.85))
        .border_style(GREY)
        .draw()?;
    Ok(())
}

/// A chart over hours (x, 0–24) and weekdays (y, 0–7).
type WeekGrid<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A weekday (rows, Monday on top) × hour (columns) grid of `title`,
/// ready for its cells.
fn week_grid<'a, DB: DrawingBackend>(
    root: &'a Area<'a, DB>,
    w: &Words,
    title: String,
) -> Result<WeekGrid<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let days: Vec<String> = (1..=7).map(|d| w.get(&format!("day_{d}"))).collect();
    let mut chart = ChartBuilder::on(root)
        .caption(title, title_style())
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..24.0, 0.0..7.0)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(13)
        .x_label_formatter(&|v: &f64| format!("{:02}:00", *v as u32))
        .y_labels(15)
        .y_label_formatter(&|v: &f64| {
            let i = (*v - 0.5).round();
            if (*v - 0.5 - i).abs() < 0.01 && (0.0..7.0).contains(&i) {
                days[6 - i as usize].clone()
            } else {
                String::new()
            }
        })
        .x_desc(w.get("hour_axis"))
        .label_style(label_style())
        .axis_desc_style(label_style())
        .draw()?;
    Ok(chart)
}

/// Windows opened per weekday × hour, the cell the darker the larger the
/// share that lapsed unanswered (the darkest is the largest share of the
/// grid), with the number opened written in it; grey where none opened.
fn lapses_by_hour<DB: DrawingBackend>(f: &Figures, w: &Words, root: &Area<DB>) -> DrawResult<DB> {
    let share = |(opened, lapsed): (u64, u64)| match opened {
        0 => None,
        n => Some(lapsed as f64 / n as f64),
    };
    let max = f
        .lapse_grid
        .iter()
        .flatten()
        .filter_map(|cell| share(*cell))
        .fold(0.0f64, f64::max);
    let title = w.fill(
        "lapses_by_hour",
        &[("share", format!("{:.0}", max * 100.0))],
    );
    let mut chart = week_grid(root, w, title)?;
    let cell = |day: usize, hour: usize| {
        let y = 6.0 - day as f64;
        [(hour as f64, y), (hour as f64 + 1.0, y + 1.0)]
    };
    let none = RGBColor(238, 238, 238);
    chart.draw_series(f.lapse_grid.iter().enumerate().flat_map(|(day, hours)| {
        hours.iter().enumerate().map(move |(hour, counts)| {
            let colour = match share(*counts) {
                None => none,
                Some(s) => {
                    let t = if max > 0.0 { s / max } else { 0.0 };
                    let shade = |full: u8| (255.0 - (255.0 - full as f64) * t).round() as u8;
                    RGBColor(
                        shade(VERMILLION.0),
                        shade(VERMILLION.1),
                        shade(VERMILLION.2),
                    )
                }
            };
            Rectangle::new(cell(day, hour), colour.filled())
        })
    }))?;
    let small = (FONT, 11).into_font().color(&INK);
    chart.draw_series(f.lapse_grid.iter().enumerate().flat_map(|(day, hours)| {
        let small = small.clone();
        hours
            .iter()
            .enumerate()
            .filter(|(_, (opened, _))| *opened > 0)
            .map(move |(hour, (opened, _))| {
                let [(x, y), _] = cell(day, hour);
                Text::new(opened.to_string(), (x + 0.15, y + 0.7), small.clone())
            })
    }))?;
    Ok(())
}

fn inbound_heatmap<DB: DrawingBackend>(f: &Figures, w: &Words, root: &Area<DB>) -> DrawResult<DB> {
    let max = f
        .inbound_heat
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let title = w.fill("inbound_heatmap", &[("max", max.to_string())]);
    let mut chart = week_grid(root, w, title)?;
    chart.draw_series(f.inbound_heat.iter().enumerate().flat_map(|(day, hours)| {
        hours.iter().enumerate().map(move |(hour, n)| {
            let t = *n as f64 / max as f64;
            let shade = |full: u8| (255.0 - (255.0 - full as f64) * t).round() as u8;
            let colour = RGBColor(shade(BLUE.0), shade(BLUE.1), shade(BLUE.2));
            let y = 6.0 - day as f64;
            Rectangle::new(
                [(hour as f64, y), (hour as f64 + 1.0, y + 1.0)],
                colour.filled(),
            )
        })
    }))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locale_may_write_its_own_digits_in_chart_text_only() {
        let svg =
            r#"<svg width="960"><text x="10" y="20">2026-10 (12%)</text><line x1="5"/></svg>"#;
        let eastern = "٠١٢٣٤٥٦٧٨٩";
        assert_eq!(
            with_digits(svg, eastern),
            r#"<svg width="960"><text x="10" y="20">٢٠٢٦-١٠ (١٢%)</text><line x1="5"/></svg>"#
        );
        assert_eq!(with_digits(svg, "0123456789"), svg);
        assert_eq!(with_digits(svg, "digits"), svg, "not ten: ignored");
    }

    #[test]
    fn weeks_the_period_covers_in_part_are_marked() {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let weeks = ["2026-07-27", "2026-08-03", "2026-10-26"];
        // 2026-08-01 is a Saturday; the period ends on Saturday 2026-10-31.
        let labels = week_labels(weeks.into_iter(), (day("2026-08-01"), day("2026-10-31")));
        assert_eq!(labels, ["07-27*", "08-03", "10-26*"]);
        let en = Locale::load("en").unwrap();
        let w = Words(&en);
        assert!(weekly_title(&w, "Messages", &labels).contains("* part of the week"));
        // A period of whole weeks, and an open one, mark nothing.
        let whole = week_labels(weeks.into_iter(), (day("2026-07-27"), day("2026-11-01")));
        assert_eq!(whole, ["07-27", "08-03", "10-26"]);
        assert_eq!(week_labels(weeks.into_iter(), (None, None)), whole);
        assert_eq!(
            weekly_title(&w, "Messages", &whole),
            "Messages (week starting)"
        );
    }

    #[test]
    fn category_labels_thin_out_on_long_axes() {
        let labels: Vec<String> = (0..30).map(|i| format!("w{i}")).collect();
        let shown: Vec<String> = (0..30)
            .map(|i| category_label(&labels, i as f64, 10))
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(shown.len(), 10);
        assert_eq!(category_label(&labels, 0.5, 10), "");
    }
}
