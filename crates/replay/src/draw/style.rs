//! The look both pictures share: colours, text, number formats, and the cleaning of given text.
//!
//! Kept in one place so that the run and the sweep read as one family, and because without font
//! files text widths are estimates: every layout decision goes through [`text_width`], which is
//! deliberately generous (per character, after a wide font) so that labels that seem to fit do
//! fit in common sans-serif fonts.

use plotters::style::{Color, FontDesc, IntoFont, RGBAColor, RGBColor, TextStyle};

/// Admitted calls that succeeded.
pub(crate) const SUCCESS: RGBColor = RGBColor(44, 160, 44);
/// Admitted calls that failed, and the failures in the window.
pub(crate) const FAILURE: RGBColor = RGBColor(214, 39, 40);
/// Rejected calls that would have succeeded.
pub(crate) const REJECTED_SUCCESS: RGBColor = RGBColor(196, 196, 196);
/// Rejected calls that would have failed.
pub(crate) const REJECTED_FAILURE: RGBColor = RGBColor(110, 110, 110);
/// The outline of rejected bars, so that the greys read as one family.
pub(crate) const REJECTED_EDGE: RGBColor = RGBColor(70, 70, 70);
/// Ignored calls, admitted or rejected.
pub(crate) const IGNORED: RGBColor = RGBColor(158, 202, 225);
/// An open circuit.
pub(crate) const OPEN: RGBColor = RGBColor(214, 39, 40);
/// A half-open circuit.
pub(crate) const HALF_OPEN: RGBColor = RGBColor(255, 176, 0);
/// A circuit forced open.
pub(crate) const FORCED_OPEN: RGBColor = RGBColor(117, 107, 177);
/// The Pareto front.
pub(crate) const FRONT: RGBColor = RGBColor(31, 119, 180);
/// Settings off the front.
pub(crate) const OTHER: RGBColor = RGBColor(150, 150, 150);
/// Text and the threshold line.
pub(crate) const INK: RGBColor = RGBColor(40, 40, 40);
/// Text of less weight: notes, axis ticks.
pub(crate) const QUIET_INK: RGBColor = RGBColor(90, 90, 90);
/// Grid lines.
pub(crate) const GRID: RGBColor = RGBColor(232, 232, 232);

/// `color` made see-through, `alpha` in [0, 1].
pub(crate) fn faded(color: RGBColor, alpha: f64) -> RGBAColor {
    color.mix(alpha)
}

/// The font family asked of the viewer.
const FAMILY: &str = "sans-serif";

/// The plotting library draws text at its size divided by this: sizes here are in pixels.
const SIZE_SCALE: f64 = 1.24;

/// A font of `px` pixels.
pub(crate) fn font(px: f64) -> FontDesc<'static> {
    (FAMILY, px * SIZE_SCALE).into_font()
}

/// Text of `px` pixels in `color`.
pub(crate) fn text(px: f64, color: RGBColor) -> TextStyle<'static> {
    font(px).color(&color)
}

/// The estimated width in pixels of `text` at `px` pixels: wide enough for common sans-serif
/// fonts (see [`em`]).
pub(crate) fn text_width(text: &str, px: f64) -> i32 {
    (text.chars().map(em).sum::<f64>() * px).ceil() as i32
}

/// The width of a character as a share of the font size, rounded up from DejaVu Sans, which is
/// wide among the sans-serif fonts a viewer may pick.
fn em(c: char) -> f64 {
    match c {
        'i' | 'j' | 'l' | '|' | '\'' | '!' | '.' | ',' | ':' | ';' => 0.34,
        'f' | 't' | 'r' | ' ' | '(' | ')' | '[' | ']' | '-' | '/' => 0.44,
        'm' | 'w' | 'M' | 'W' | '%' | '@' => 0.98,
        '=' | '+' | '<' | '>' | '~' | '#' | '&' => 0.86,
        'A'..='Z' => 0.76,
        '0'..='9' => 0.66,
        c if c.is_ascii() => 0.63,
        _ => 1.0,
    }
}

/// `raw` made safe to draw: characters XML does not allow (controls, noncharacters) and line
/// breaks become spaces, runs of spaces one, and the text is cut to `max_chars` with an ellipsis.
pub(crate) fn clean(raw: &str, max_chars: usize) -> String {
    let allowed = |c: char| !c.is_control() && c != '\u{FFFE}' && c != '\u{FFFF}';
    let spaced: String = raw
        .chars()
        .map(|c| if allowed(c) { c } else { ' ' })
        .collect();
    let words: Vec<&str> = spaced.split_whitespace().collect();
    shorten(&words.join(" "), max_chars)
}

/// `text` cut to at most `max_chars` characters, the last of them an ellipsis when cut.
pub(crate) fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `text` cut so that its estimated width at `px` pixels is at most `width`, an ellipsis in
/// place of what was cut.
pub(crate) fn fit(text: &str, px: f64, width: i32) -> String {
    if text_width(text, px) <= width {
        return text.to_string();
    }
    let room = f64::from(width) / px - em('…');
    let mut used = 0.0;
    let mut cut: String = text
        .chars()
        .take_while(|&c| {
            used += em(c);
            used <= room
        })
        .collect();
    cut.push('…');
    cut
}

/// A number as an axis shows it: `0.25`, `950`, `9500`, `12k`, `3.4M`, `1.2e15`.
pub(crate) fn count(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e12 {
        return format!("{value:.1e}");
    }
    let (scaled, suffix) = if magnitude >= 1e9 {
        (value / 1e9, "G")
    } else if magnitude >= 1e6 {
        (value / 1e6, "M")
    } else if magnitude >= 1e4 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    format!(
        "{}{suffix}",
        decimal(scaled, if suffix.is_empty() { 2 } else { 1 })
    )
}

/// `value` with at most `places` decimals, trailing zeros dropped: `2.5`, `3`, `0.25`.
pub(crate) fn decimal(value: f64, places: usize) -> String {
    if !value.is_finite() {
        return String::from("?");
    }
    let text = format!("{value:.places$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    match text {
        "-0" => String::from("0"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_drops_what_xml_forbids_and_cuts_long_text() {
        assert_eq!(clean("a\u{1}b\nc\u{FFFF}  d", 40), "a b c d");
        assert_eq!(clean("<&>", 40), "<&>");
        assert_eq!(clean("abcdefgh", 5), "abcd…");
        assert_eq!(clean("", 5), "");
    }

    #[test]
    fn fitting_keeps_the_estimated_width_within_bounds() {
        let long = "x".repeat(500);
        let fitted = fit(&long, 12.0, 300);
        assert!(text_width(&fitted, 12.0) <= 300);
        assert!(fitted.ends_with('…'));
        assert_eq!(fit("short", 12.0, 300), "short");
    }

    #[test]
    fn counts_are_short_and_decimals_trimmed() {
        assert_eq!(count(0.0), "0");
        assert_eq!(count(950.0), "950");
        assert_eq!(count(9500.0), "9500");
        assert_eq!(count(12_000.0), "12k");
        assert_eq!(count(3_400_000.0), "3.4M");
        assert_eq!(count(2.5), "2.5");
        assert_eq!(count(1.5e300), "1.5e300");
        assert_eq!(decimal(-0.0001, 2), "0");
        assert_eq!(decimal(f64::NAN, 2), "?");
    }
}
