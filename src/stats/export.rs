//! Output formats: CSV, SVG bar charts and XLSX sheets.

use super::*;

/// CSV with a header, quoting where needed.
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let mut out = header
        .iter()
        .map(|h| quote(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for r in rows {
        out.push_str(&r.iter().map(|c| quote(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// One bar of a chart: a label and its value (suppressed bars, `None`, are drawn hatched,
/// without a value).
pub struct Bar {
    pub label: String,
    pub value: Option<f64>,
}

impl Bar {
    pub fn of(label: impl Into<String>, figure: &impl Cell) -> Self {
        Self {
            label: label.into(),
            value: figure.number(),
        }
    }
}

pub(super) fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart as standalone SVG.
pub fn svg_bars(title: &str, bars: &[Bar]) -> String {
    let width = 640.0;
    let label_w = 150.0;
    let bar_h = 22.0;
    let height = 50.0 + bars.len() as f64 * (bar_h + 8.0) + 20.0;
    let max = bars
        .iter()
        .filter_map(|b| b.value)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         font-family=\"sans-serif\" font-size=\"12\"><title>{t}</title>\
         <defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
         <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#999\" stroke-width=\"2\"/></pattern></defs>\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><text x=\"10\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{t}</text>",
        t = xml(title)
    );
    let plot_w = width - label_w - 70.0;
    for (i, b) in bars.iter().enumerate() {
        let y = 40.0 + i as f64 * (bar_h + 8.0);
        out.push_str(&format!(
            "<text x=\"10\" y=\"{}\">{}</text>",
            y + bar_h * 0.7,
            xml(&b.label)
        ));
        match b.value {
            Some(v) => {
                let w = (v / max * plot_w).max(1.0);
                out.push_str(&format!(
                    "<rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"#1f5c9e\"/>\
                     <text x=\"{:.1}\" y=\"{}\">{}</text>",
                    label_w + w + 6.0,
                    y + bar_h * 0.7,
                    (v * 100.0).round() / 100.0
                ));
            }
            None => out.push_str(&format!(
                "<rect x=\"{label_w}\" y=\"{y}\" width=\"{plot_w:.1}\" height=\"{bar_h}\" fill=\"url(#hatch)\"/>\
                 <text x=\"{:.1}\" y=\"{}\" fill=\"#666\">suppressed</text>",
                label_w + 8.0,
                y + bar_h * 0.7
            )),
        }
    }
    out.push_str("</svg>");
    out
}

/// A one-sheet XLSX workbook of a table; suppressed cells hold the text `suppressed`.
pub fn xlsx(sheet: &str, header: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, String> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet).map_err(|e| e.to_string())?;
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h)
            .map_err(|e| e.to_string())?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            match value.parse::<f64>() {
                Ok(n) => ws.write_number(r, c, n),
                Err(_) => ws.write_string(r, c, value),
            }
            .map_err(|e| e.to_string())?;
        }
    }
    book.save_to_buffer().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes() {
        assert_eq!(
            csv(&["a", "b"], &[vec!["x,y".into(), "1".into()]]),
            "a,b\n\"x,y\",1\n"
        );
    }
}
