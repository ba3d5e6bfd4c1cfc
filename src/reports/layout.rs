//! A small page layout on top of printpdf's drawing operations: text measured with the
//! embedded CJK font and wrapped (Chinese between any two characters, Latin at spaces, never a
//! closing punctuation mark at the start of a line), filled rectangles, page breaks, and
//! headers and footers added once the page count is known.

use std::sync::OnceLock;

use printpdf::{
    Color, FontId, LinePoint, Mm, Op, ParsedFont, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Polygon, PolygonRing, Pt, Rgb, TextItem, WindingOrder,
};

/// WenQuanYi Micro Hei (Apache-2.0, see `reports/fonts/`), face 0: the proportional face.
const FONT_BYTES: &[u8] = include_bytes!("../../reports/fonts/wqy-microhei.ttc");
/// A fixed resource name keeps the output byte-identical from one render to the next.
const FONT_ID: &str = "F1";

fn font() -> Option<&'static ParsedFont> {
    static FONT: OnceLock<Option<ParsedFont>> = OnceLock::new();
    FONT.get_or_init(|| ParsedFont::from_bytes(FONT_BYTES, 0, &mut Vec::new()))
        .as_ref()
}

pub const BLACK: (f32, f32, f32) = (0.11, 0.15, 0.2);
pub const GREY: (f32, f32, f32) = (0.42, 0.47, 0.53);
pub const ACCENT: (f32, f32, f32) = (0.06, 0.36, 0.62);
pub const LIGHT: (f32, f32, f32) = (0.88, 0.92, 0.96);
pub const RED: (f32, f32, f32) = (0.66, 0.08, 0.08);

fn rgb(c: (f32, f32, f32)) -> Color {
    Color::Rgb(Rgb {
        r: c.0,
        g: c.1,
        b: c.2,
        icc_profile: None,
    })
}

/// Width of `text` in millimetres at `size` points.
pub fn text_width(text: &str, size: f32) -> f32 {
    let Some(f) = font() else {
        return text.chars().count() as f32 * size * 0.35;
    };
    let upem = f32::from(f.pdf_font_metrics.units_per_em.max(1));
    let units: u32 = text.chars().map(|c| advance(f, c)).sum();
    units as f32 / upem * size * 0.352_778
}

/// A character's advance in font units (half an em where the font lacks it). The font's
/// character map is slow to search (about a thousand instructions a character, most of the
/// text measuring of a report), so advances of the Basic Multilingual Plane are remembered as
/// they are first asked for.
fn advance(f: &ParsedFont, c: char) -> u32 {
    use std::sync::atomic::{AtomicU16, Ordering};
    /// Advance + 1 per character; 0 while not yet looked up.
    static KNOWN: OnceLock<Box<[AtomicU16]>> = OnceLock::new();
    let lookup = |c: char| {
        f.lookup_glyph_index(c as u32)
            .map_or(f.pdf_font_metrics.units_per_em.max(1) / 2, |g| {
                f.get_horizontal_advance(g)
            })
    };
    let Some(slot) = usize::try_from(u32::from(c))
        .ok()
        .filter(|i| *i < 0x1_0000)
        .and_then(|i| {
            KNOWN
                .get_or_init(|| (0..0x1_0000).map(|_| AtomicU16::new(0)).collect())
                .get(i)
        })
    else {
        return u32::from(lookup(c));
    };
    match slot.load(Ordering::Relaxed) {
        0 => {
            let a = lookup(c).min(u16::MAX - 1);
            slot.store(a + 1, Ordering::Relaxed);
            u32::from(a)
        }
        known => u32::from(known - 1),
    }
}

fn is_cjk(c: char) -> bool {
    ('\u{2E80}'..='\u{9FFF}').contains(&c)
        || ('\u{F900}'..='\u{FFEF}').contains(&c)
        || ('\u{3000}'..='\u{303F}').contains(&c)
}

/// Marks that may not begin a line.
fn closing(c: char) -> bool {
    "，。、；：？！）」』》〉】,.;:!?)%".contains(c)
}

/// Breaks `text` into lines no wider than `width` mm: Chinese anywhere, other scripts at
/// spaces, a word wider than the line wherever it must. One closing punctuation mark may hang
/// past the width rather than start a line; a run of them breaks like any text. Each character
/// is measured once, so the time is linear in the length of the text.
pub fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        // Units that stay together: a CJK character, or a run of other characters.
        let mut units: Vec<String> = Vec::new();
        for c in paragraph.chars() {
            match units.last_mut() {
                Some(last)
                    if !is_cjk(c)
                        && !c.is_whitespace()
                        && !last.ends_with(' ')
                        && !last.chars().last().is_some_and(is_cjk) =>
                {
                    last.push(c)
                }
                Some(last) if c == ' ' && !last.chars().last().is_some_and(is_cjk) => last.push(c),
                _ => units.push(c.to_string()),
            }
        }
        let mut line = Line::default();
        for unit in units {
            let visible = text_width(unit.trim_end(), size);
            if visible > width {
                // A word wider than the line: it gets lines of its own, cut where it must.
                line.flush(&mut lines);
                let mut piece = Line::default();
                for c in unit.trim_end().chars() {
                    let w = text_width(c.encode_utf8(&mut [0; 4]), size);
                    if !piece.text.is_empty() && piece.full + w > width {
                        piece.flush(&mut lines);
                    }
                    piece.push_str(c.encode_utf8(&mut [0; 4]), w);
                }
                line = piece;
                continue;
            }
            let full = text_width(&unit, size);
            if line.text.is_empty() || line.full + visible <= width {
                line.push_str(&unit, full);
            } else if unit.starts_with(closing) && !line.hanging {
                line.push_str(&unit, full);
                line.hanging = true;
            } else {
                line.flush(&mut lines);
                let start = unit.trim_start();
                line.push_str(start, text_width(start, size));
            }
        }
        lines.push(line.text.trim_end().to_owned());
    }
    lines
}

/// A line being filled by [`wrap`], with its width kept as it grows.
#[derive(Default)]
struct Line {
    text: String,
    /// Width including trailing spaces.
    full: f32,
    /// Whether a closing mark already hangs past the width.
    hanging: bool,
}

impl Line {
    /// Appends `s`, `full` mm wide with its trailing spaces.
    fn push_str(&mut self, s: &str, full: f32) {
        self.text.push_str(s);
        self.full += full;
    }

    fn flush(&mut self, lines: &mut Vec<String>) {
        if !self.text.is_empty() {
            lines.push(self.text.trim_end().to_owned());
        }
        *self = Self::default();
    }
}

/// Pages under construction; y runs from the top of the page downwards, in mm.
pub struct Layout {
    pub width: f32,
    pub height: f32,
    pub margin: f32,
    /// Space kept free at the top and bottom of each page for header and footer.
    pub top: f32,
    pub bottom: f32,
    pages: Vec<Vec<Op>>,
    pub y: f32,
}

impl Layout {
    pub fn new(width: f32, height: f32, margin: f32, top: f32, bottom: f32) -> Self {
        Self {
            width,
            height,
            margin,
            top,
            bottom,
            pages: vec![Vec::new()],
            y: top,
        }
    }

    pub fn content_width(&self) -> f32 {
        self.width - 2.0 * self.margin
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = self.top;
    }

    /// Starts a new page unless `height` mm still fit.
    pub fn ensure(&mut self, height: f32) {
        if self.y + height > self.height - self.bottom {
            self.new_page();
        }
    }

    /// One line of text with its baseline at `y` mm from the top.
    pub fn text_at(&mut self, x: f32, y: f32, text: &str, size: f32, color: (f32, f32, f32)) {
        let pdf_y = self.height - y;
        let ops = self.ops();
        ops.push(Op::StartTextSection);
        ops.push(Op::SetTextCursor {
            pos: Point::new(Mm(x), Mm(pdf_y)),
        });
        ops.push(Op::SetFont {
            font: PdfFontHandle::External(FontId(FONT_ID.into())),
            size: Pt(size),
        });
        ops.push(Op::SetFillColor { col: rgb(color) });
        ops.push(Op::ShowText {
            items: vec![TextItem::Text(text.to_owned())],
        });
        ops.push(Op::EndTextSection);
    }

    /// Wrapped text at `x`, `width` mm wide, from the current position; moves down.
    pub fn paragraph(&mut self, x: f32, width: f32, text: &str, size: f32, color: (f32, f32, f32)) {
        let line_height = size * 0.352_778 * 1.45;
        for line in wrap(text, size, width) {
            self.ensure(line_height);
            self.y += line_height;
            let y = self.y - line_height * 0.25;
            self.text_at(x, y, &line, size, color);
        }
    }

    /// A filled rectangle with its top-left corner at (`x`, `y`) mm from the top-left.
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: (f32, f32, f32)) {
        let top = self.height - y;
        let corner = |px: f32, py: f32| LinePoint {
            p: Point {
                x: Pt(Mm(px).into_pt().0),
                y: Pt(Mm(py).into_pt().0),
            },
            bezier: false,
        };
        let ops = self.ops();
        ops.push(Op::SetFillColor { col: rgb(color) });
        ops.push(Op::DrawPolygon {
            polygon: Polygon {
                rings: vec![PolygonRing {
                    points: vec![
                        corner(x, top),
                        corner(x + w, top),
                        corner(x + w, top - h),
                        corner(x, top - h),
                    ],
                }],
                mode: printpdf::PaintMode::Fill,
                winding_order: WindingOrder::NonZero,
            },
        });
    }

    /// A ring (circle outline) `width` mm thick, centred on (`x`, `y`) mm from the top-left.
    pub fn ring(&mut self, x: f32, y: f32, radius: f32, width: f32, color: (f32, f32, f32)) {
        let cy = self.height - y;
        let circle = |r: f32| PolygonRing {
            points: (0..72)
                .map(|i| {
                    let a = i as f32 * std::f32::consts::TAU / 72.0;
                    LinePoint {
                        p: Point {
                            x: Pt(Mm(x + r * a.cos()).into_pt().0),
                            y: Pt(Mm(cy + r * a.sin()).into_pt().0),
                        },
                        bezier: false,
                    }
                })
                .collect(),
        };
        let ops = self.ops();
        ops.push(Op::SetFillColor { col: rgb(color) });
        ops.push(Op::DrawPolygon {
            polygon: Polygon {
                rings: vec![circle(radius), circle(radius - width)],
                mode: printpdf::PaintMode::Fill,
                winding_order: WindingOrder::EvenOdd,
            },
        });
    }

    /// Adds header and footer ops to every page (given page number and count), then builds the
    /// document with fixed metadata so the bytes depend on the content alone.
    pub fn finish(
        mut self,
        title: &str,
        identifier: &str,
        subject: &str,
        date: chrono::NaiveDate,
        decorate: impl Fn(&mut Layout, usize, usize),
    ) -> Vec<u8> {
        let count = self.pages.len();
        let pages = std::mem::take(&mut self.pages);
        let mut finished = Vec::with_capacity(count);
        for (i, ops) in pages.into_iter().enumerate() {
            self.pages = vec![ops];
            decorate(&mut self, i + 1, count);
            finished.push(std::mem::take(&mut self.pages[0]));
        }
        let mut doc = PdfDocument::new(title);
        if let Some(f) = font() {
            doc.resources
                .fonts
                .map
                .insert(FontId(FONT_ID.into()), printpdf::PdfFont::new(f.clone()));
        }
        let stamp = pdf_date(date);
        doc.metadata.info.creation_date = stamp;
        doc.metadata.info.modification_date = stamp;
        doc.metadata.info.metadata_date = stamp;
        doc.metadata.info.identifier = identifier.to_owned();
        doc.metadata.info.subject = subject.to_owned();
        doc.metadata.info.creator = "csr-assess".into();
        doc.metadata.info.producer = "csr-assess".into();
        let pages = finished
            .into_iter()
            .map(|ops| PdfPage::new(Mm(self.width), Mm(self.height), ops))
            .collect();
        // printpdf compresses at zlib's highest level, a third of a report's rendering for a
        // few per cent of size: the streams are compressed here instead.
        let options = PdfSaveOptions {
            optimize: false,
            ..PdfSaveOptions::default()
        };
        let mut pdf = doc
            .with_pages(pages)
            .to_lopdf_document(&options, &mut Vec::new());
        compress_streams(&mut pdf);
        // printpdf writes a random instance id into the trailer: both ids are derived from the
        // document's identity instead, so that the same data gives the same bytes.
        let id = crate::domain::canonical::sha256_hex(identifier.as_bytes())[..32].to_owned();
        let id = || lopdf::Object::String(id.as_bytes().to_vec(), lopdf::StringFormat::Literal);
        pdf.trailer
            .set("ID", lopdf::Object::Array(vec![id(), id()]));
        let mut bytes = Vec::new();
        // Writing to memory does not fail.
        let _ = pdf.save_to(&mut bytes);
        bytes
    }
}

fn pdf_date(d: chrono::NaiveDate) -> printpdf::OffsetDateTime {
    use chrono::Datelike;
    let date = printpdf::Date {
        year: d.year(),
        month: d.month() as u8,
        day: d.day() as u8,
    };
    let time = printpdf::Time {
        hour: 0,
        minute: 0,
        second: 0,
        millisecond: 0,
    };
    let offset = printpdf::Offset {
        hours: 0,
        minutes: 0,
        seconds: 0,
        milliseconds: 0,
    };
    printpdf::OffsetDateTime::new_in_offset(date, time, offset)
}

/// The zlib level of the PDF streams.
const COMPRESSION: u32 = 6;

/// Compresses every stream that may be and is not yet, where it saves space.
fn compress_streams(doc: &mut lopdf::Document) {
    use std::io::Write;
    for object in doc.objects.values_mut() {
        let lopdf::Object::Stream(stream) = object else {
            continue;
        };
        if !stream.allows_compression || stream.dict.get(b"Filter").is_ok() {
            continue;
        }
        let mut z = flate2::write::ZlibEncoder::new(
            Vec::with_capacity(stream.content.len() / 2),
            flate2::Compression::new(COMPRESSION),
        );
        let packed = z.write_all(&stream.content).and_then(|()| z.finish());
        if let Ok(packed) = packed
            && packed.len() + 19 < stream.content.len()
        {
            stream.dict.set("Filter", "FlateDecode");
            stream.set_content(packed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_chinese_anywhere_latin_at_spaces_and_keeps_punctuation() {
        let lines = wrap(
            "消费者权益保护合规管理制度，明确职责、流程和定期自查。",
            10.0,
            40.0,
        );
        assert!(lines.len() > 1, "{lines:?}");
        assert!(
            lines.iter().all(|l| !l.starts_with(['，', '。', '、'])),
            "{lines:?}"
        );
        assert_eq!(
            lines.concat(),
            "消费者权益保护合规管理制度，明确职责、流程和定期自查。"
        );
        let lines = wrap(
            "A written compliance system with assigned duties",
            10.0,
            40.0,
        );
        assert!(
            lines
                .iter()
                .all(|l| !l.starts_with(' ') && !l.ends_with(' '))
        );
        assert!(lines.iter().all(|l| {
            l.split(' ')
                .all(|w| "A written compliance system with assigned duties".contains(w))
        }));
        assert!(text_width("汉字", 10.0) > text_width("ab", 10.0));
    }

    #[test]
    fn runs_of_punctuation_and_long_words_stay_inside_the_line() {
        for text in [
            "，".repeat(3000),
            "a".repeat(3000),
            format!("开{}", "。".repeat(500)),
        ] {
            let lines = wrap(&text, 10.0, 40.0);
            assert_eq!(lines.concat(), text);
            let hang = text_width("，", 10.0);
            for l in &lines {
                assert!(text_width(l, 10.0) <= 40.0 + hang, "{l}");
            }
        }
    }
}
