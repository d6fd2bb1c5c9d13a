//! Printed documents, rendered offline: the mediation agreement (调解协议)
//! as an A4 PDF whose text is Chinese in an embedded (subset) CJK font, so
//! it prints the same anywhere and its text can be extracted and searched.
//!
//! The font comes from the machine (Debian's `fonts-wqy-microhei` by
//! default, or any TrueType/OpenType CJK font the station names); nothing is
//! downloaded. This crate knows nothing of storage or HTTP: it takes the
//! words to print.

use krilla::Document;
use krilla::geom::{PathBuilder, Point};
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};
use std::path::{Path, PathBuf};

/// Where Debian (and most Linux systems) put CJK fonts, in order of preference.
pub const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
];

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("no CJK font: install fonts-wqy-microhei, or name a font file")]
    NoFont,
    #[error("reading the font {path}: {message}")]
    Font { path: String, message: String },
    #[error("rendering the PDF: {0}")]
    Render(String),
}

/// A loaded CJK font (the first face of a collection).
#[derive(Clone)]
pub struct CjkFont {
    font: Font,
    path: PathBuf,
}

impl std::fmt::Debug for CjkFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CjkFont").field("path", &self.path).finish()
    }
}

impl CjkFont {
    /// Loads `path`, checking it can draw Chinese.
    pub fn load(path: &Path) -> Result<CjkFont, PdfError> {
        let error = |message: String| PdfError::Font {
            path: path.display().to_string(),
            message,
        };
        let data = std::fs::read(path).map_err(|e| error(e.to_string()))?;
        let font = Font::new(data.into(), 0).ok_or_else(|| error("not a font".into()))?;
        Ok(CjkFont {
            font,
            path: path.to_owned(),
        })
    }

    /// The named font, or else the first of [`FONT_CANDIDATES`] present.
    pub fn find(named: Option<&Path>) -> Result<CjkFont, PdfError> {
        match named {
            Some(path) => CjkFont::load(path),
            None => FONT_CANDIDATES
                .iter()
                .map(Path::new)
                .find(|p| p.exists())
                .ok_or(PdfError::NoFont)
                .and_then(CjkFont::load),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What the agreement says, already in words (dates formatted, names
/// resolved, in the station's time zone).
#[derive(Debug, Clone, PartialEq)]
pub struct AgreementText {
    /// e.g. 调解协议书
    pub title: String,
    /// e.g. 高桥街道司法所〔2026〕调字第 12 号
    pub number: String,
    /// One line per party: name, and contact if shown.
    pub parties: Vec<String>,
    /// The mediating organisations, in order.
    pub mediators: Vec<String>,
    pub facts: String,
    pub terms: Vec<String>,
    /// One line per signature: party and date.
    pub signatures: Vec<String>,
    /// e.g. 2026年11月1日
    pub date: String,
}

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 64.0;

/// Splits `text` into lines that fit `width` points at `size` (CJK glyphs
/// are a square em; Latin letters and digits about half of one).
fn wrap(text: &str, width: f32, size: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut used = 0.0;
        for c in paragraph.chars() {
            let w = if c.is_ascii() { 0.55 * size } else { size };
            if used + w > width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                used = 0.0;
            }
            line.push(c);
            used += w;
        }
        lines.push(line);
    }
    lines
}

/// Lays lines out top to bottom, starting new pages as needed.
struct Writer {
    document: Document,
    font: Font,
    pages: Vec<Vec<(f32, f32, f32, String)>>,
    y: f32,
}

impl Writer {
    fn line(&mut self, x: f32, size: f32, text: &str) {
        if self.y + size > PAGE_H - MARGIN {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
        self.y += size * 1.6;
        let page = self.pages.last_mut().expect("a page");
        page.push((x, self.y, size, text.to_owned()));
    }

    fn paragraph(&mut self, x: f32, size: f32, text: &str) {
        for line in wrap(text, PAGE_W - MARGIN - x, size) {
            self.line(x, size, &line);
        }
    }

    fn gap(&mut self, points: f32) {
        self.y += points;
    }

    fn finish(mut self) -> Result<Vec<u8>, PdfError> {
        let count = self.pages.len();
        for (n, lines) in self.pages.iter().enumerate() {
            let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
                .ok_or_else(|| PdfError::Render("page size".into()))?;
            let mut page = self.document.start_page_with(settings);
            let mut surface = page.surface();
            for (x, y, size, text) in lines {
                surface.draw_text(
                    Point::from_xy(*x, *y),
                    self.font.clone(),
                    *size,
                    text,
                    false,
                    TextDirection::Auto,
                );
            }
            let footer = format!("第 {} 页 / 共 {} 页", n + 1, count);
            surface.draw_text(
                Point::from_xy(PAGE_W / 2.0 - 40.0, PAGE_H - MARGIN / 2.0),
                self.font.clone(),
                9.0,
                &footer,
                false,
                TextDirection::Auto,
            );
            let mut rule = PathBuilder::new();
            rule.move_to(MARGIN, MARGIN + 44.0);
            rule.line_to(PAGE_W - MARGIN, MARGIN + 44.0);
            if n == 0
                && let Some(path) = rule.finish()
            {
                surface.set_fill(None);
                surface.set_stroke(Some(Default::default()));
                surface.draw_path(&path);
            }
            surface.finish();
            page.finish();
        }
        self.document
            .finish()
            .map_err(|e| PdfError::Render(format!("{e:?}")))
    }
}

/// The agreement as an A4 PDF.
pub fn agreement_pdf(text: &AgreementText, font: &CjkFont) -> Result<Vec<u8>, PdfError> {
    let mut w = Writer {
        document: Document::new(),
        font: font.font.clone(),
        pages: vec![Vec::new()],
        y: MARGIN,
    };
    let title_size = 22.0;
    let title_width = text.title.chars().count() as f32 * title_size;
    w.line((PAGE_W - title_width) / 2.0, title_size, &text.title);
    w.gap(10.0);
    w.paragraph(PAGE_W - MARGIN - 260.0, 10.5, &text.number);
    w.gap(12.0);
    let body = 12.0;
    w.line(MARGIN, 13.0, "当事人");
    for party in &text.parties {
        w.paragraph(MARGIN + 24.0, body, party);
    }
    w.gap(6.0);
    w.line(MARGIN, 13.0, "调解组织");
    w.paragraph(MARGIN + 24.0, body, &text.mediators.join("、"));
    w.gap(6.0);
    w.line(MARGIN, 13.0, "纠纷事实");
    w.paragraph(MARGIN + 24.0, body, &text.facts);
    w.gap(6.0);
    w.line(MARGIN, 13.0, "经调解，双方自愿达成如下协议：");
    for (k, term) in text.terms.iter().enumerate() {
        w.paragraph(MARGIN + 24.0, body, &format!("{}、{}", k + 1, term));
    }
    w.gap(6.0);
    w.paragraph(
        MARGIN,
        body,
        "本协议经各方当事人签字后生效，各方应当按照约定履行。调解组织将于协议签署后第7日、第30日回访。",
    );
    w.gap(18.0);
    w.line(MARGIN, 13.0, "当事人签名");
    for signature in &text.signatures {
        w.paragraph(MARGIN + 24.0, body, signature);
    }
    w.gap(18.0);
    w.paragraph(PAGE_W - MARGIN - 200.0, body, &text.date);
    w.finish()
}

/// A report in words: a title, a line under it, sections of lines, and
/// the date it was made (the monthly briefing, 研判月报).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportText {
    pub title: String,
    pub subtitle: String,
    /// (heading, lines) in order.
    pub sections: Vec<(String, Vec<String>)>,
    /// e.g. 高桥派出所 2026年11月1日
    pub signed: String,
}

/// A report as an A4 PDF.
pub fn report_pdf(text: &ReportText, font: &CjkFont) -> Result<Vec<u8>, PdfError> {
    let mut w = Writer {
        document: Document::new(),
        font: font.font.clone(),
        pages: vec![Vec::new()],
        y: MARGIN,
    };
    let title_size = 20.0;
    let title_width = text.title.chars().count() as f32 * title_size;
    w.line(
        ((PAGE_W - title_width) / 2.0).max(MARGIN),
        title_size,
        &text.title,
    );
    w.gap(10.0);
    w.paragraph(MARGIN, 10.5, &text.subtitle);
    w.gap(12.0);
    for (heading, lines) in &text.sections {
        w.line(MARGIN, 13.0, heading);
        for line in lines {
            w.paragraph(MARGIN + 18.0, 11.0, line);
        }
        w.gap(8.0);
    }
    w.gap(12.0);
    w.paragraph(PAGE_W - MARGIN - 220.0, 11.0, &text.signed);
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_wrap_by_width() {
        let lines = wrap("一二三四五六七八九十", 48.0, 12.0);
        assert_eq!(lines, ["一二三四", "五六七八", "九十"]);
        let mixed = wrap("19:00–21:00 跳舞", 60.0, 12.0);
        assert!(mixed.len() >= 2, "{mixed:?}");
        assert_eq!(mixed.concat(), "19:00–21:00 跳舞");
        assert_eq!(wrap("甲\n乙", 100.0, 12.0), ["甲", "乙"]);
    }

    #[test]
    fn renders_when_a_cjk_font_is_installed() {
        let Ok(font) = CjkFont::find(None) else {
            eprintln!("skipped: no CJK font on this machine");
            return;
        };
        let text = AgreementText {
            title: "人民调解协议书".into(),
            number: "〔2026〕调字第1号".into(),
            parties: vec!["李某".into(), "王某".into()],
            mediators: vec!["怡园社区居委会".into()],
            facts: "广场舞噪音".repeat(60),
            terms: vec!["广场舞活动时间调整为每日19:00–21:00".into()],
            signatures: vec!["李某 2026年11月1日".into()],
            date: "2026年11月1日".into(),
        };
        let pdf = agreement_pdf(&text, &font).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let raw = String::from_utf8_lossy(&pdf);
        assert!(
            raw.contains("FontFile2") || raw.contains("FontFile3"),
            "the font is embedded"
        );
        assert!(raw.contains("ToUnicode"), "text can be extracted");
        let report = ReportText {
            title: "2026年10月 警情研判月报".into(),
            subtitle: "统计时段".into(),
            sections: vec![("一、主要指标".into(), vec!["警情总量 100 起".into(); 80])],
            signed: "高桥派出所".into(),
        };
        let pdf = report_pdf(&report, &font).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let raw = String::from_utf8_lossy(&pdf);
        assert!(!raw.contains("/Count 1/"), "the pages break");
    }
}
