//! Sample labels: a Code128 barcode and a QR code of the lab code, as SVG for the print page
//! and as ZPL II for Zebra thermal printers (203 dpi).
//!
//! Both sizes share one layout; the 100×50 mm label is the 50×25 mm one at twice the scale:
//! the barcode across the top, the lab code in bold under it, then the seizure reference, the
//! seal number and a shortened description on the left with the QR code on their right.

/// What is printed on one label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelData {
    pub lab_code: String,
    pub seizure_reference: String,
    pub seal_number: Option<String>,
    pub description: String,
}

impl LabelData {
    /// The description on one line (runs of white space, new lines included, become one space),
    /// cut to at most `max_chars` characters, the last of which is then an ellipsis.
    pub fn short_description(&self, max_chars: usize) -> String {
        shorten(&self.description, max_chars, "…")
    }
}

/// One label of the print page: its data and its two codes, ready to insert with `|safe`.
pub struct LabelView {
    pub data: LabelData,
    pub barcode_svg: String,
    pub qr_svg: String,
}

impl LabelView {
    /// Draws both codes of the lab code.
    pub fn new(data: LabelData) -> Result<LabelView, LabelError> {
        Ok(LabelView {
            barcode_svg: code128_svg(&data.lab_code)?,
            qr_svg: qr_svg(&data.lab_code)?,
            data,
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LabelError {
    #[error("nothing to encode")]
    Empty,
    #[error("a Code128 barcode cannot hold the character {0:?}")]
    UnsupportedCharacter(char),
    #[error("barcode: {0}")]
    Barcode(#[from] barcoders::error::Error),
    #[error("QR code: {0}")]
    Qr(#[from] qrcode::types::QrError),
}

/// The two label stocks the laboratory uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LabelSize {
    /// 50 × 25 mm.
    #[default]
    Small,
    /// 100 × 50 mm.
    Large,
}

impl LabelSize {
    pub const ALL: [LabelSize; 2] = [LabelSize::Small, LabelSize::Large];

    /// `"50x25"` or `"100x50"` (the `?size=` of the print page); anything else is `None`.
    pub fn parse(s: &str) -> Option<LabelSize> {
        match s.trim() {
            "50x25" => Some(LabelSize::Small),
            "100x50" => Some(LabelSize::Large),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LabelSize::Small => "50x25",
            LabelSize::Large => "100x50",
        }
    }

    /// Width and height in millimetres.
    pub fn mm(self) -> (u32, u32) {
        match self {
            LabelSize::Small => (50, 25),
            LabelSize::Large => (100, 50),
        }
    }

    /// Width and height in printer dots at 203 dpi (8 dots per millimetre).
    pub fn dots(self) -> (u32, u32) {
        match self {
            LabelSize::Small => (400, 200),
            LabelSize::Large => (800, 400),
        }
    }

    /// The catalogue key of the size's name.
    pub fn label_key(self) -> &'static str {
        match self {
            LabelSize::Small => "labels.size_small",
            LabelSize::Large => "labels.size_large",
        }
    }

    /// How many characters of the description go on the label (about two lines of its text
    /// column; the large label is the small one at twice the scale, so the same number).
    pub fn description_chars(self) -> usize {
        match self {
            LabelSize::Small | LabelSize::Large => 44,
        }
    }

    /// The print page's own style sheet for this size (it sets `@page { size }`).
    pub fn stylesheet(self) -> &'static str {
        match self {
            LabelSize::Small => "/static/css/labels-50x25.css",
            LabelSize::Large => "/static/css/labels-100x50.css",
        }
    }

    fn scale(self) -> u32 {
        match self {
            LabelSize::Small => 1,
            LabelSize::Large => 2,
        }
    }
}

/// One space for each run of white space or control characters, and at most `max_chars`
/// characters, the last being `ellipsis` when something was cut.
fn shorten(text: &str, max_chars: usize, ellipsis: &str) -> String {
    let one_line = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if one_line.chars().count() <= max_chars {
        return one_line;
    }
    let keep = max_chars.saturating_sub(ellipsis.chars().count());
    let mut out: String = one_line.chars().take(keep).collect();
    out.truncate(out.trim_end().len());
    if max_chars >= ellipsis.chars().count() {
        out.push_str(ellipsis);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Code128

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CodeSet {
    B,
    C,
}

/// The shortest Code128 symbol for `text` using code sets B (printable ASCII) and C (digit
/// pairs): a list of runs, each in one code set, the first chosen by the start character.
fn code128_runs(text: &str) -> Result<Vec<(CodeSet, String)>, LabelError> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Err(LabelError::Empty);
    }
    if let Some(c) = chars.iter().find(|c| !(' '..='~').contains(*c)) {
        return Err(LabelError::UnsupportedCharacter(*c));
    }
    let n = chars.len();
    let digit_pair =
        |i: usize| i + 1 < n && chars[i].is_ascii_digit() && chars[i + 1].is_ascii_digit();
    // cost[i][s]: symbols needed for chars[i..] when the current code set is s (B=0, C=1).
    const NONE: usize = usize::MAX / 4;
    let mut cost = vec![[NONE; 2]; n + 1];
    cost[n] = [0, 0];
    for i in (0..n).rev() {
        let stay_b = 1 + cost[i + 1][0];
        let stay_c = if digit_pair(i) {
            1 + cost[i + 2][1]
        } else {
            NONE
        };
        cost[i][0] = stay_b.min(1 + stay_c);
        cost[i][1] = stay_c.min(1 + stay_b);
    }
    let mut set = if cost[0][1] < cost[0][0] {
        CodeSet::C
    } else {
        CodeSet::B
    };
    let mut runs: Vec<(CodeSet, String)> = vec![(set, String::new())];
    let mut i = 0;
    while i < n {
        let stay_b = 1 + cost[i + 1][0];
        let stay_c = if digit_pair(i) {
            1 + cost[i + 2][1]
        } else {
            NONE
        };
        // Switch only when it is strictly shorter: ties keep the current set.
        let next = match set {
            CodeSet::B if 1 + stay_c < stay_b => CodeSet::C,
            CodeSet::C if 1 + stay_b < stay_c => CodeSet::B,
            s => s,
        };
        if next != set {
            set = next;
            runs.push((set, String::new()));
        }
        let take = if set == CodeSet::C { 2 } else { 1 };
        let run = &mut runs.last_mut().expect("a run").1;
        run.extend(&chars[i..i + take]);
        i += take;
    }
    Ok(runs)
}

/// The bars and spaces of the Code128 symbol of `text`, one entry per module (1 = bar), without
/// quiet zones.
fn code128_modules(text: &str) -> Result<Vec<u8>, LabelError> {
    let mut data = String::new();
    for (set, run) in code128_runs(text)? {
        data.push(match set {
            CodeSet::B => 'Ɓ',
            CodeSet::C => 'Ć',
        });
        data.push_str(&run);
    }
    Ok(barcoders::sym::code128::Code128::new(data)?.encode())
}

/// Quiet zone on each side of a Code128 symbol, in modules (ISO/IEC 15417 asks for 10).
const CODE128_QUIET: usize = 10;

/// A Code128 barcode of `text` as a standalone SVG: quiet zones included, no fixed size (it
/// stretches to its box, bar widths keeping their ratios), no `style` attribute.
pub fn code128_svg(text: &str) -> Result<String, LabelError> {
    let modules = code128_modules(text)?;
    let width = modules.len() + 2 * CODE128_QUIET;
    let height = 40;
    let mut svg = format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 {w} {h}""#,
            r#" preserveAspectRatio="none" shape-rendering="crispEdges" aria-hidden="true" focusable="false">"#,
            r##"<rect width="{w}" height="{h}" fill="#fff"/><g fill="#000">"##
        ),
        w = width,
        h = height
    );
    // One rectangle per bar (a run of dark modules), not per module: no seams between modules.
    let mut x = 0;
    while x < modules.len() {
        if modules[x] == 1 {
            let start = x;
            while x < modules.len() && modules[x] == 1 {
                x += 1;
            }
            svg.push_str(&format!(
                r#"<rect x="{}" width="{}" height="{height}"/>"#,
                start + CODE128_QUIET,
                x - start
            ));
        } else {
            x += 1;
        }
    }
    svg.push_str("</g></svg>");
    Ok(svg)
}

/// A QR code (error correction level Q, 4-module quiet zone) of `text` as a standalone SVG with
/// a viewBox and no fixed size, no `style` attribute.
pub fn qr_svg(text: &str) -> Result<String, LabelError> {
    if text.is_empty() {
        return Err(LabelError::Empty);
    }
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::Q)?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .quiet_zone(true)
        .module_dimensions(1, 1)
        .build();
    // The renderer writes an XML declaration and a fixed width and height on the root element:
    // drop them so the code can be inserted into HTML and scales to its box.
    let side = code.width() + 8;
    let svg = svg.get(svg.find("<svg").unwrap_or(0)..).unwrap_or(&svg);
    Ok(svg.replacen(
        &format!(r#" width="{side}" height="{side}" viewBox"#),
        r#" aria-hidden="true" focusable="false" viewBox"#,
        1,
    ))
}

// ---------------------------------------------------------------------------------------------
// ZPL

/// User text made safe for a ZPL `^FD`: `^` and `~` (the command prefixes) removed, control
/// characters turned into spaces.
fn zpl_clean(text: &str) -> String {
    text.chars()
        .filter(|c| *c != '^' && *c != '~')
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Clean text for a `^FD` inside an `^FB` block, where `\` must be doubled (`\&` would be a
/// line break).
fn zpl_text(text: &str) -> String {
    zpl_clean(text).replace('\\', "\\\\")
}

/// Splits `text` into at most `max_lines` lines of at most `width` characters, breaking
/// between words where it can; the last line ends in "..." when something did not fit.
fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let width = width.max(4);
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = current.chars().count();
            let room = if used == 0 {
                width
            } else {
                width.saturating_sub(used + 1)
            };
            if word.len() <= room {
                if used > 0 {
                    current.push(' ');
                }
                current.extend(&word);
                break;
            }
            if used == 0 {
                // A word longer than a line is cut.
                current.extend(&word[..width]);
                word.drain(..width);
            }
            lines.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max_lines && max_lines > 0 {
        let rest = lines.split_off(max_lines - 1).join(" ");
        lines.push(shorten(&rest, width, "..."));
    }
    lines.truncate(max_lines);
    lines
}

/// The `^FD` data of a `^BC` field in mode N, with explicit code set invocations (`>:` start
/// in B, `>;` start in C, `>5` switch to C, `>6` switch to B), so that the printer draws the
/// same symbol as [`code128_svg`] and its width is known.
fn zpl_code128_data(runs: &[(CodeSet, String)]) -> String {
    let mut out = String::new();
    for (i, (set, run)) in runs.iter().enumerate() {
        out.push_str(match (i, set) {
            (0, CodeSet::B) => ">:",
            (0, CodeSet::C) => ">;",
            (_, CodeSet::B) => ">6",
            (_, CodeSet::C) => ">5",
        });
        out.push_str(&run.replace('>', "><"));
    }
    out
}

/// The number of modules of a Code128 symbol made of `runs`: start, data, switches, check
/// character (11 modules each) and the 13-module stop pattern.
fn code128_width(runs: &[(CodeSet, String)]) -> usize {
    let data: usize = runs
        .iter()
        .map(|(set, run)| match set {
            CodeSet::B => run.chars().count(),
            CodeSet::C => run.len() / 2,
        })
        .sum();
    // One start plus one switch per further run, and the check character.
    (runs.len() + data + 1) * 11 + 13
}

/// ZPL II for a Zebra printer at 203 dpi: one `^XA … ^XZ` format per label. Text fields are
/// printed without captions; see [`zpl_with_captions`].
pub fn zpl(labels: &[LabelData], size: LabelSize) -> String {
    zpl_with_captions(labels, size, "", "")
}

/// As [`zpl`], with a caption before the seizure reference and the seal number (for example
/// "Acta" and "Precinto"); empty captions print the values alone.
pub fn zpl_with_captions(
    labels: &[LabelData],
    size: LabelSize,
    seizure_caption: &str,
    seal_caption: &str,
) -> String {
    let (width, height) = size.dots();
    let s = size.scale();
    let margin = 8 * s;
    // The QR code sits in the bottom right corner; version 2 (25 modules, enough for a
    // sub-sample code at level Q) at 4 dots per module on the small label.
    let qr_magnification = 4 * s;
    let qr_side = 25 * qr_magnification;
    let qr_x = width - margin - qr_side;
    let qr_y = height - margin - qr_side;
    let text_x = margin;
    // Four QR modules of quiet zone between the text column and the code.
    let text_width = qr_x - 4 * qr_magnification - text_x;
    let captioned = |caption: &str, value: &str| {
        if caption.is_empty() {
            value.to_string()
        } else {
            format!("{caption}: {value}")
        }
    };
    // Characters that fit in the text column: a glyph of font 0 (bold condensed) is taken as
    // 0.6 of the font width, a conservative guess for upper case and digits.
    let fits = |w: u32| (text_width as usize * 10) / (w as usize * 6);

    let mut out = String::new();
    for label in labels {
        let code = shorten(&zpl_clean(&label.lab_code), usize::MAX, "");
        out.push_str("^XA\n^CI28\n");
        out.push_str(&format!("^PW{width}\n^LL{height}\n^LH0,0\n"));
        if let Ok(runs) = code128_runs(&code) {
            let modules = code128_width(&runs) as u32;
            let quiet = CODE128_QUIET as u32;
            // The widest module (at most 3 dots) that leaves the quiet zones on the label.
            let module = (width / (modules + 2 * quiet)).clamp(1, 3);
            let x = width.saturating_sub(modules * module) / 2;
            out.push_str(&format!(
                "^FO{x},{y}^BY{module}^BCN,{h},N,N,N,N^FD{data}^FS\n",
                y = margin,
                h = 52 * s,
                data = zpl_code128_data(&runs)
            ));
        }
        // Positions and font sizes on the small label, in dots; doubled on the large one.
        let line = |y: u32, h: u32, w: u32, text: &str| {
            format!(
                "^FO{text_x},{y}^A0N,{h},{w}^FB{text_width},1,0,L,0^FD{text}^FS\n",
                y = y * s,
                h = h * s,
                w = w * s,
                text = zpl_text(text),
            )
        };
        out.push_str(&line(66, 26, 24, &shorten(&code, fits(24 * s), "...")));
        let seizure = captioned(seizure_caption, &zpl_clean(&label.seizure_reference));
        out.push_str(&line(98, 20, 18, &shorten(&seizure, fits(18 * s), "...")));
        let mut y = 120;
        if let Some(seal) = label
            .seal_number
            .as_deref()
            .filter(|s| !s.trim().is_empty())
        {
            let seal = captioned(seal_caption, &zpl_clean(seal));
            out.push_str(&line(y, 20, 18, &shorten(&seal, fits(18 * s), "...")));
            y += 22;
        }
        let description = shorten(
            &zpl_clean(&label.description),
            size.description_chars(),
            "...",
        );
        let max_lines = if y == 120 { 3 } else { 2 };
        for text in wrap(&description, fits(18 * s), max_lines) {
            out.push_str(&line(y, 20, 18, &text));
            y += 22;
        }
        if !code.is_empty() {
            out.push_str(&format!(
                "^FO{qr_x},{qr_y}^BQN,2,{qr_magnification}^FDQA,{code}^FS\n"
            ));
        }
        out.push_str("^PQ1\n^XZ\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(code: &str) -> LabelData {
        LabelData {
            lab_code: code.to_string(),
            seizure_reference: "ACTA-2026-0412".to_string(),
            seal_number: Some("PR-778812".to_string()),
            description: "Polvo blanco en bolsas de plástico, 3 × 1 kg".to_string(),
        }
    }

    fn assert_plain_svg(svg: &str) {
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.ends_with("</svg>"), "{svg}");
        assert!(svg.contains(" viewBox=\"0 0 "), "{svg}");
        assert!(!svg.contains("style"), "{svg}");
        let root = &svg[..svg.find('>').unwrap()];
        assert!(!root.contains(" width="), "{root}");
        assert!(!root.contains(" height="), "{root}");
        assert_eq!(svg.matches("<svg").count(), 1);
    }

    #[test]
    fn barcode_svg_is_plain_and_scales() {
        let svg = code128_svg("LAB-2026-000123").unwrap();
        assert_plain_svg(&svg);
        assert!(svg.contains(r#"preserveAspectRatio="none""#));
        // Bars start after the 10-module quiet zone and the stop pattern ends 10 before the edge.
        assert!(
            svg.contains(r##"<g fill="#000"><rect x="10" width="2""##),
            "{svg}"
        );
    }

    #[test]
    fn different_codes_give_different_barcodes() {
        let a = code128_svg("LAB-2026-000123").unwrap();
        let b = code128_svg("LAB-2026-000124").unwrap();
        let c = code128_svg("LAB-2026-000123-A").unwrap();
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn barcode_uses_code_set_c_for_long_digit_runs() {
        let runs = code128_runs("LAB-2026-000123").unwrap();
        assert_eq!(
            runs,
            vec![
                (CodeSet::B, "LAB-2026-".to_string()),
                (CodeSet::C, "000123".to_string())
            ]
        );
        // Start, 9 in B, switch, 3 pairs, check, stop.
        assert_eq!(code128_width(&runs), 15 * 11 + 13);
        assert_eq!(
            code128_modules("LAB-2026-000123").unwrap().len(),
            code128_width(&runs)
        );
        let runs = code128_runs("LAB-2026-000123-A").unwrap();
        assert_eq!(runs.len(), 3);
        assert_eq!(
            code128_modules("LAB-2026-000123-A").unwrap().len(),
            code128_width(&runs)
        );
        assert_eq!(
            code128_runs("123456").unwrap(),
            vec![(CodeSet::C, "123456".to_string())]
        );
        assert_eq!(
            code128_runs("12345").unwrap(),
            vec![
                (CodeSet::B, "1".to_string()),
                (CodeSet::C, "2345".to_string())
            ]
        );
        assert_eq!(
            code128_runs("A").unwrap(),
            vec![(CodeSet::B, "A".to_string())]
        );
    }

    #[test]
    fn barcode_refuses_what_code128_cannot_hold() {
        assert_eq!(code128_svg(""), Err(LabelError::Empty));
        assert_eq!(
            code128_svg("LAB-2026-Ñ"),
            Err(LabelError::UnsupportedCharacter('Ñ'))
        );
        assert!(code128_svg("x").is_ok());
    }

    #[test]
    fn qr_svg_is_plain_and_has_a_quiet_zone() {
        let svg = qr_svg("LAB-2026-000123").unwrap();
        assert_plain_svg(&svg);
        // Version 1 at level Q: 21 modules and 4 of quiet zone on each side.
        assert!(svg.contains(r#"viewBox="0 0 29 29""#), "{svg}");
        assert!(!svg.contains("<?xml"));
        assert_ne!(svg, qr_svg("LAB-2026-000124").unwrap());
        // A sub-sample code needs version 2.
        assert!(qr_svg("LAB-2026-000123-A")
            .unwrap()
            .contains(r#"viewBox="0 0 33 33""#));
        assert_eq!(qr_svg(""), Err(LabelError::Empty));
    }

    #[test]
    fn zpl_has_one_format_per_label_with_both_codes() {
        let labels = [data("LAB-2026-000123"), data("LAB-2026-000123-A")];
        let zpl = zpl(&labels, LabelSize::Small);
        assert_eq!(zpl.matches("^XA").count(), 2);
        assert_eq!(zpl.matches("^XZ").count(), 2);
        assert_eq!(zpl.matches("^BC").count(), 2);
        assert_eq!(zpl.matches("^BQN,2,").count(), 2);
        assert_eq!(zpl.matches("^CI28").count(), 2);
        assert!(zpl.contains("^PW400\n^LL200\n"));
        assert!(zpl.contains("^FDQA,LAB-2026-000123^FS"));
        assert!(zpl.contains("^FDQA,LAB-2026-000123-A^FS"));
        assert!(zpl.contains("^FDLAB-2026-000123^FS"));
        assert!(zpl.contains("^FD>:LAB-2026->5000123^FS"));
        assert!(zpl.contains("^FD>:LAB-2026->5000123>6-A^FS"));
        assert!(zpl.contains("^FDACTA-2026-0412^FS"));
        assert!(zpl.contains("^FDPR-778812^FS"));
        assert!(zpl.contains("plástico"));
        // The main code fits at 2 dots per module with its quiet zones, the longer one at 1.
        assert!(zpl.contains("^FO22,8^BY2^BC"), "{zpl}");
        assert!(zpl.contains("^FO94,8^BY1^BC"), "{zpl}");

        let large = super::zpl(&labels[..1], LabelSize::Large);
        assert!(large.contains("^PW800\n^LL400\n"));
        assert!(large.contains("^BY3^BCN,104,"));
        assert!(large.contains("^BQN,2,8^"));
    }

    #[test]
    fn zpl_strips_command_prefixes_from_user_text() {
        let mut label = data("LAB-2026-000123");
        label.seizure_reference = "ACTA^XZ~JA-1".to_string();
        label.seal_number = Some("~DG^FS\\&".to_string());
        label.description = "a^b~c\nd".to_string();
        let zpl = zpl_with_captions(&[label], LabelSize::Small, "Acta", "Precinto");
        assert!(zpl.contains("^FDActa: ACTAXZJA-1^FS"), "{zpl}");
        assert!(zpl.contains("^FDPrecinto: DGFS\\\\&^FS"), "{zpl}");
        assert!(zpl.contains("^FDabc d^FS"), "{zpl}");
        // Only our own commands remain.
        assert_eq!(zpl.matches("^XZ").count(), 1);
        assert!(!zpl.contains('~'));
        let no_seal = LabelData {
            seal_number: None,
            ..data("LAB-2026-000123")
        };
        let zpl = super::zpl(&[no_seal], LabelSize::Small);
        assert!(!zpl.contains("PR-778812"));
        // Code, seizure and the description on two lines.
        assert_eq!(zpl.matches("^A0N").count(), 4, "{zpl}");
    }

    #[test]
    fn zpl_wraps_between_words_within_the_line_count() {
        assert_eq!(
            wrap("Polvo blanco en bolsas de plástico, 3 × 1 kg", 24, 2),
            vec!["Polvo blanco en bolsas", "de plástico, 3 × 1 kg"]
        );
        assert_eq!(
            wrap("uno dos tres cuatro cinco seis", 9, 2),
            vec!["uno dos", "tres c..."]
        );
        assert_eq!(wrap("abcdefghijkl", 5, 3), vec!["abcde", "fghij", "kl"]);
        assert!(wrap("", 5, 2).is_empty());
    }

    #[test]
    fn short_description_cuts_on_char_boundaries() {
        let mut d = data("LAB-2026-000123");
        d.description = "Ácido  sulfúrico\nconcentrado".to_string();
        assert_eq!(d.short_description(100), "Ácido sulfúrico concentrado");
        assert_eq!(d.short_description(27), "Ácido sulfúrico concentrado");
        assert_eq!(d.short_description(26), "Ácido sulfúrico concentra…");
        // No space before the ellipsis.
        assert_eq!(d.short_description(7), "Ácido…");
        assert_eq!(d.short_description(1), "…");
        assert_eq!(d.short_description(0), "");
        d.description = "ñññ".to_string();
        assert_eq!(d.short_description(2), "ñ…");
    }

    #[test]
    fn sizes_parse_and_print() {
        for size in LabelSize::ALL {
            assert_eq!(LabelSize::parse(size.as_str()), Some(size));
        }
        assert_eq!(LabelSize::parse("100x50"), Some(LabelSize::Large));
        assert_eq!(LabelSize::parse("A4"), None);
        assert_eq!(LabelSize::Small.dots(), (400, 200));
        assert_eq!(LabelSize::Large.dots(), (800, 400));
        assert_eq!(LabelSize::default(), LabelSize::Small);
    }
}
