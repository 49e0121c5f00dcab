//! The issued report as a PDF/A-2b file (A4), drawn with krilla in an embedded font.
//!
//! Two passes: the sections (`super::sections`) are laid out into pages of drawing
//! operations first, so every page can say "page n of m"; then the pages are painted.
//! krilla's PDF/A-2b validator is switched on, so a file that breaks a rule it can check
//! (fonts not embedded, device colours, missing XMP or output intent...) is an error here,
//! never a stored report.

use std::sync::LazyLock;

use krilla::color::rgb;
use krilla::configure::{Archival, ConfigurationBuilder, PdfVersion};
use krilla::geom::{PathBuilder, Point, Rect, Size};
use krilla::image::Image;
use krilla::metadata::{DateTime, Metadata};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla::SerializeSettings;
use skrifa::instance::{LocationRef, Size as FontSize};
use skrifa::MetadataProvider;

use super::content::{ReportContent, SignatureLine};
use super::sections::{self, Block, Field, Furniture, Section};

/// Everything printed: the signed content, the signature block and the verification link.
pub struct Document<'a> {
    pub content: &'a ReportContent,
    pub signatures: &'a [SignatureLine],
    /// `{LIMS_PUBLIC_URL}/verify/{number}?h={content sha256}`, printed and in the QR code.
    pub verify_url: &'a str,
    /// The laboratory's logo (PNG or JPEG) whose SHA-256 the content names.
    pub logo: Option<Logo<'a>>,
}

pub struct Logo<'a> {
    pub bytes: &'a [u8],
    pub content_type: &'a str,
}

#[derive(Debug, thiserror::Error)]
#[error("the report could not be rendered as PDF: {0}")]
pub struct RenderError(pub String);

static REGULAR_TTF: &[u8] = include_bytes!("../../assets/fonts/LiberationSans-Regular.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../../assets/fonts/LiberationSans-Bold.ttf");

/// Parsed once: krilla fonts are cheap to clone and shared between renders.
static FONTS: LazyLock<(Font, Font)> = LazyLock::new(|| {
    (
        Font::new(REGULAR_TTF.into(), 0).expect("the bundled regular font parses"),
        Font::new(BOLD_TTF.into(), 0).expect("the bundled bold font parses"),
    )
});

// A4 in points, with 15 mm margins.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 42.5;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
const HEADER_H: f32 = 78.0;
const BODY_TOP: f32 = MARGIN + HEADER_H;
const BODY_BOTTOM: f32 = PAGE_H - MARGIN - 22.0;

const BODY: f32 = 9.0;
const SMALL: f32 = 8.0;
const LEADING: f32 = 1.25;
const CELL_PAD: f32 = 2.5;
const LABEL_W: f32 = 150.0;
const QR_SIZE: f32 = 90.0;

#[derive(Clone, Copy, PartialEq)]
enum Weight {
    Regular,
    Bold,
}

enum Op {
    /// `y` is the baseline.
    Text {
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        text: String,
    },
    Rule {
        x: f32,
        y: f32,
        w: f32,
    },
    Shade(Rect),
    Qr {
        x: f32,
        y: f32,
    },
}

/// Advance widths of the bundled fonts, to wrap text before krilla shapes it.
struct Measure {
    regular: skrifa::FontRef<'static>,
    bold: skrifa::FontRef<'static>,
}

static MEASURE: LazyLock<Measure> = LazyLock::new(|| Measure {
    regular: skrifa::FontRef::new(REGULAR_TTF).expect("the bundled regular font parses"),
    bold: skrifa::FontRef::new(BOLD_TTF).expect("the bundled bold font parses"),
});

impl Measure {
    /// The advance width of each character, in points.
    fn widths(&self, size: f32, weight: Weight) -> impl Fn(char) -> f32 + '_ {
        let font = match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        };
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(FontSize::new(size), LocationRef::default());
        move |c| {
            let gid = charmap.map(c).unwrap_or_default();
            metrics.advance_width(gid).unwrap_or(size * 0.5)
        }
    }

    fn width(&self, text: &str, size: f32, weight: Weight) -> f32 {
        text.chars().map(self.widths(size, weight)).sum()
    }

    /// Lines of at most `width`: breaks at spaces, and inside a word (a hash, a URL) only
    /// when the word alone is too wide. Explicit newlines are kept. Widths are summed as
    /// the line grows, so a long text is measured once.
    fn wrap(&self, text: &str, size: f32, weight: Weight, width: f32) -> Vec<String> {
        let char_w = self.widths(size, weight);
        let space = char_w(' ');
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let (mut line, mut line_w) = (String::new(), 0.0);
            for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
                let word_w: f32 = word.chars().map(&char_w).sum();
                let joined = if line.is_empty() {
                    word_w
                } else {
                    line_w + space + word_w
                };
                if joined <= width {
                    if !line.is_empty() {
                        line.push(' ');
                    }
                    line.push_str(word);
                    line_w = joined;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    line_w = 0.0;
                }
                if word_w <= width {
                    line.push_str(word);
                    line_w = word_w;
                    continue;
                }
                for c in word.chars() {
                    let w = char_w(c);
                    if line_w + w > width && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        line_w = 0.0;
                    }
                    line.push(c);
                    line_w += w;
                }
            }
            lines.push(line);
        }
        lines
    }
}

fn line_h(size: f32) -> f32 {
    size * LEADING
}

/// Pages of drawing operations, filled top to bottom.
struct Layout {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            pages: vec![Vec::new()],
            y: BODY_TOP,
        }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("a page is always open")
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = BODY_TOP;
    }

    /// Starts a new page unless `h` points still fit on this one.
    fn need(&mut self, h: f32) {
        if self.y + h > BODY_BOTTOM && self.y > BODY_TOP {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, size: f32, weight: Weight, text: String) {
        let y = self.y + size;
        self.ops().push(Op::Text {
            x,
            y,
            size,
            weight,
            text,
        });
    }

    fn paragraph(&mut self, text: &str, size: f32, weight: Weight) {
        for line in MEASURE.wrap(text, size, weight, CONTENT_W) {
            self.need(line_h(size));
            self.text(MARGIN, size, weight, line);
            self.y += line_h(size);
        }
        self.y += 3.0;
    }

    fn heading(&mut self, title: &str) {
        // Keep a heading with at least three lines of what it introduces.
        self.need(line_h(11.0) + 4.0 + 3.0 * line_h(BODY));
        self.y += 6.0;
        self.text(MARGIN, 11.0, Weight::Bold, title.to_string());
        self.y += line_h(11.0);
        let y = self.y;
        self.ops().push(Op::Rule {
            x: MARGIN,
            y,
            w: CONTENT_W,
        });
        self.y += 4.0;
    }

    fn fields(&mut self, fields: &[Field]) {
        for f in fields {
            let labels = MEASURE.wrap(&f.label, BODY, Weight::Bold, LABEL_W - 8.0);
            let weight = if f.alert {
                Weight::Bold
            } else {
                Weight::Regular
            };
            let values = MEASURE.wrap(&f.value, BODY, weight, CONTENT_W - LABEL_W);
            for i in 0..labels.len().max(values.len()) {
                self.need(line_h(BODY));
                if let Some(label) = labels.get(i) {
                    self.text(MARGIN, BODY, Weight::Bold, label.clone());
                }
                if let Some(value) = values.get(i) {
                    self.text(MARGIN + LABEL_W, BODY, weight, value.clone());
                }
                self.y += line_h(BODY);
            }
        }
        self.y += 4.0;
    }

    fn table_header(&mut self, xs: &[f32], widths: &[f32], headers: &[Vec<String>]) {
        let lines = headers.iter().map(Vec::len).max().unwrap_or(1);
        let h = lines as f32 * line_h(SMALL) + 2.0 * CELL_PAD;
        let y = self.y;
        self.ops().push(Op::Shade(
            Rect::from_xywh(MARGIN, y, CONTENT_W, h).expect("a positive header box"),
        ));
        for ((x, _), cell) in xs.iter().zip(widths).zip(headers) {
            for (i, line) in cell.iter().enumerate() {
                let ops_y = y + CELL_PAD + i as f32 * line_h(SMALL) + SMALL;
                self.ops().push(Op::Text {
                    x: x + CELL_PAD,
                    y: ops_y,
                    size: SMALL,
                    weight: Weight::Bold,
                    text: line.clone(),
                });
            }
        }
        self.y += h;
    }

    /// A table that goes on over pages under its repeated header; a row taller than a page
    /// breaks line by line.
    fn table(&mut self, columns: &[(String, f32)], rows: &[Vec<String>]) {
        let total: f32 = columns.iter().map(|(_, w)| w).sum();
        let widths: Vec<f32> = columns.iter().map(|(_, w)| w / total * CONTENT_W).collect();
        let xs: Vec<f32> = widths
            .iter()
            .scan(MARGIN, |x, w| {
                let at = *x;
                *x += w;
                Some(at)
            })
            .collect();
        let wrap = |text: &str, w: f32, weight: Weight| {
            MEASURE.wrap(text, SMALL, weight, w - 2.0 * CELL_PAD)
        };
        let headers: Vec<Vec<String>> = columns
            .iter()
            .zip(&widths)
            .map(|((title, _), w)| wrap(title, *w, Weight::Bold))
            .collect();
        let header_h =
            headers.iter().map(Vec::len).max().unwrap_or(1) as f32 * line_h(SMALL) + 2.0 * CELL_PAD;
        self.need(header_h + line_h(SMALL) + 2.0 * CELL_PAD);
        self.table_header(&xs, &widths, &headers);
        for row in rows {
            let cells: Vec<Vec<String>> = row
                .iter()
                .zip(&widths)
                .map(|(text, w)| wrap(text, *w, Weight::Regular))
                .collect();
            let lines = cells.iter().map(Vec::len).max().unwrap_or(1);
            // A row that fits on a page is moved whole; only a taller one is split.
            let row_h = lines as f32 * line_h(SMALL) + 2.0 * CELL_PAD;
            if self.y + row_h > BODY_BOTTOM && row_h <= BODY_BOTTOM - BODY_TOP - header_h {
                self.new_page();
                self.table_header(&xs, &widths, &headers);
            }
            self.y += CELL_PAD;
            for i in 0..lines {
                if self.y + line_h(SMALL) > BODY_BOTTOM {
                    self.new_page();
                    self.table_header(&xs, &widths, &headers);
                    self.y += CELL_PAD;
                }
                for (x, cell) in xs.iter().zip(&cells) {
                    if let Some(line) = cell.get(i) {
                        self.text(x + CELL_PAD, SMALL, Weight::Regular, line.clone());
                    }
                }
                self.y += line_h(SMALL);
            }
            self.y += CELL_PAD;
            let y = self.y;
            self.ops().push(Op::Rule {
                x: MARGIN,
                y,
                w: CONTENT_W,
            });
        }
        self.y += 6.0;
    }

    fn section(&mut self, section: &Section) {
        self.heading(&section.title);
        for block in &section.blocks {
            match block {
                Block::Fields(fields) => self.fields(fields),
                Block::Table { columns, rows } => self.table(columns, rows),
                Block::Text(text) => self.paragraph(text, BODY, Weight::Regular),
                Block::Notice(text) => self.paragraph(text, BODY, Weight::Bold),
            }
        }
    }

    /// The QR code with the URL printed beside it, then the end mark.
    fn closing(&mut self, furniture: &Furniture, url: &str) {
        self.heading(&furniture.verify_heading);
        self.need(QR_SIZE + 30.0);
        let top = self.y;
        self.ops().push(Op::Qr { x: MARGIN, y: top });
        let text_x = MARGIN + QR_SIZE + 12.0;
        let text_w = CONTENT_W - QR_SIZE - 12.0;
        self.y += 4.0;
        self.text(text_x, BODY, Weight::Regular, furniture.verify_hint.clone());
        self.y += line_h(BODY);
        for line in MEASURE.wrap(url, BODY, Weight::Regular, text_w) {
            self.text(text_x, BODY, Weight::Regular, line);
            self.y += line_h(BODY);
        }
        self.y = self.y.max(top + QR_SIZE) + 14.0;
        let w = MEASURE.width(&furniture.end_mark, 10.0, Weight::Bold);
        self.text(
            MARGIN + (CONTENT_W - w) / 2.0,
            10.0,
            Weight::Bold,
            furniture.end_mark.clone(),
        );
    }
}

pub fn render(doc: &Document) -> Result<Vec<u8>, RenderError> {
    sections::check_format(doc.content).map_err(RenderError)?;
    let furniture = sections::furniture(doc.content);
    let mut layout = Layout::new();
    for section in sections::sections(doc) {
        layout.section(&section);
    }
    layout.closing(&furniture, doc.verify_url);

    let qr = qrcode::QrCode::new(doc.verify_url.as_bytes())
        .map_err(|e| RenderError(format!("QR code: {e}")))?;
    let logo = doc.logo.as_ref().map(logo_image).transpose()?;

    let configuration = ConfigurationBuilder::new()
        .with_version(PdfVersion::Pdf17)
        .with_archival_validator(Archival::A2_B)
        .finish()
        .map_err(|e| RenderError(format!("{e:?}")))?;
    let mut pdf = krilla::Document::new_with(SerializeSettings {
        configuration,
        ..SerializeSettings::default()
    });
    pdf.set_metadata(metadata(doc.content, &furniture));
    let count = layout.pages.len();
    let page_settings = PageSettings::from_wh(PAGE_W, PAGE_H).expect("A4 is a valid page size");
    for (n, ops) in layout.pages.iter().enumerate() {
        let mut page = pdf.start_page_with(page_settings.clone());
        let mut surface = page.surface();
        paint_furniture(
            &mut surface,
            doc.content,
            &furniture,
            logo.as_ref(),
            n + 1,
            count,
        );
        for op in ops {
            paint(&mut surface, op, &qr);
        }
        surface.finish();
        page.finish();
    }
    pdf.finish().map_err(|e| RenderError(format!("{e:?}")))
}

fn logo_image(logo: &Logo) -> Result<Image, RenderError> {
    let data = logo.bytes.to_vec().into();
    // No interpolation: PDF/A forbids it (the validator refuses the file otherwise).
    match logo.content_type {
        "image/png" => Image::from_png(data, false),
        "image/jpeg" => Image::from_jpeg(data, false),
        other => Err(format!("unsupported logo type {other}")),
    }
    .map_err(|e| RenderError(format!("logo: {e}")))
}

fn metadata(content: &ReportContent, furniture: &Furniture) -> Metadata {
    let mut meta = Metadata::new()
        .title(format!("{} {}", furniture.title, content.report_number))
        .language(content.locale.clone())
        .creator("LIMS".to_string())
        .authors(vec![content.laboratory.name.clone()]);
    let mut parts = content.issue_date.split('-').map(str::parse::<u16>);
    if let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) = (parts.next(), parts.next(), parts.next()) {
        if let (Ok(m), Ok(d)) = (u8::try_from(m), u8::try_from(d)) {
            meta = meta.creation_date(DateTime::new(y).month(m).day(d));
        }
    }
    meta
}

fn black() -> Fill {
    Fill::default()
}

fn grey_fill() -> Fill {
    Fill {
        paint: rgb::Color::new(232, 234, 237).into(),
        ..Fill::default()
    }
}

fn draw(surface: &mut Surface, x: f32, y: f32, size: f32, weight: Weight, text: &str) {
    let font = match weight {
        Weight::Regular => FONTS.0.clone(),
        Weight::Bold => FONTS.1.clone(),
    };
    surface.draw_text(
        Point::from_xy(x, y),
        font,
        size,
        text,
        false,
        TextDirection::Auto,
    );
}

fn rule(surface: &mut Surface, x: f32, y: f32, w: f32, width: f32) {
    let mut pb = PathBuilder::new();
    pb.move_to(x, y);
    pb.line_to(x + w, y);
    if let Some(path) = pb.finish() {
        surface.set_fill(None);
        surface.set_stroke(Some(Stroke {
            paint: rgb::Color::new(120, 120, 120).into(),
            width,
            ..Stroke::default()
        }));
        surface.draw_path(&path);
        surface.set_stroke(None);
        surface.set_fill(Some(black()));
    }
}

fn paint(surface: &mut Surface, op: &Op, qr: &qrcode::QrCode) {
    match op {
        Op::Text {
            x,
            y,
            size,
            weight,
            text,
        } => draw(surface, *x, *y, *size, *weight, text),
        Op::Rule { x, y, w } => rule(surface, *x, *y, *w, 0.4),
        Op::Shade(rect) => {
            let mut pb = PathBuilder::new();
            pb.push_rect(*rect);
            if let Some(path) = pb.finish() {
                surface.set_fill(Some(grey_fill()));
                surface.draw_path(&path);
                surface.set_fill(Some(black()));
            }
        }
        Op::Qr { x, y } => paint_qr(surface, qr, *x, *y),
    }
}

/// The dark modules as one path, with the quiet zone the standard asks for.
fn paint_qr(surface: &mut Surface, qr: &qrcode::QrCode, x: f32, y: f32) {
    let n = qr.width();
    let quiet = 2;
    let module = QR_SIZE / (n + 2 * quiet) as f32;
    let mut pb = PathBuilder::new();
    for (i, color) in qr.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (col, row) = (i % n + quiet, i / n + quiet);
            if let Some(r) = Rect::from_xywh(
                x + col as f32 * module,
                y + row as f32 * module,
                module,
                module,
            ) {
                pb.push_rect(r);
            }
        }
    }
    if let Some(path) = pb.finish() {
        surface.set_fill(Some(black()));
        surface.draw_path(&path);
    }
}

fn paint_furniture(
    surface: &mut Surface,
    content: &ReportContent,
    furniture: &Furniture,
    logo: Option<&Image>,
    n: usize,
    m: usize,
) {
    let mut text_x = MARGIN;
    if let Some(image) = logo {
        let (w, h) = image.size();
        let height = 40.0;
        let width = (w as f32 / h.max(1) as f32 * height).min(120.0);
        if let Some(size) = Size::from_wh(width, height) {
            surface.push_transform(&krilla::geom::Transform::from_translate(MARGIN, MARGIN));
            surface.draw_image(image.clone(), size);
            surface.pop();
            text_x += width + 10.0;
        }
    }
    let text_w = PAGE_W - MARGIN - text_x - 150.0;
    let mut y = MARGIN + 11.0;
    for line in MEASURE.wrap(&furniture.lab_name, 11.0, Weight::Bold, text_w) {
        draw(surface, text_x, y, 11.0, Weight::Bold, &line);
        y += line_h(11.0);
    }
    let mut small = MEASURE.wrap(&furniture.lab_address, SMALL, Weight::Regular, text_w);
    if let Some(acc) = &furniture.accreditation {
        small.extend(MEASURE.wrap(acc, SMALL, Weight::Regular, text_w));
    }
    for line in small.iter().take(3) {
        draw(surface, text_x, y, SMALL, Weight::Regular, line);
        y += line_h(SMALL);
    }
    // The title block, right-aligned.
    let right = PAGE_W - MARGIN;
    let title_w = MEASURE.width(&furniture.title, 14.0, Weight::Bold);
    draw(
        surface,
        right - title_w,
        MARGIN + 14.0,
        14.0,
        Weight::Bold,
        &furniture.title,
    );
    let number_w = MEASURE.width(&content.report_number, 10.0, Weight::Bold);
    draw(
        surface,
        right - number_w,
        MARGIN + 30.0,
        10.0,
        Weight::Bold,
        &content.report_number,
    );
    let version = &furniture.version_line;
    let version_w = MEASURE.width(version, SMALL, Weight::Regular);
    draw(
        surface,
        right - version_w,
        MARGIN + 42.0,
        SMALL,
        Weight::Regular,
        version,
    );
    rule(surface, MARGIN, MARGIN + HEADER_H - 8.0, CONTENT_W, 0.8);

    // Footer: report number left, page n of m right, on every page.
    let footer_y = PAGE_H - MARGIN;
    rule(surface, MARGIN, footer_y - 12.0, CONTENT_W, 0.4);
    draw(
        surface,
        MARGIN,
        footer_y,
        SMALL,
        Weight::Regular,
        &content.report_number,
    );
    let page = furniture
        .page_of
        .replace("%{n}", &n.to_string())
        .replace("%{m}", &m.to_string());
    let page_w = MEASURE.width(&page, SMALL, Weight::Regular);
    draw(
        surface,
        right - page_w,
        footer_y,
        SMALL,
        Weight::Regular,
        &page,
    );
}
