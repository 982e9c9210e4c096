//! The pictures of `--svg`: a run's timeline and a sweep's trade-off, as self-contained SVG.
//!
//! SVG because it is text: it needs no font files or image libraries to write, it scales, and
//! it opens in any browser. Each picture is bounded whatever its input (a [`Timeline`] has at
//! most a few hundred steps and spans; a sweep draws one marker per distinct position, up to a
//! cap, and labels a few points of its Pareto front), so a file stays well under a megabyte, and
//! every text that comes from the caller is cleaned and shortened before it is drawn.
//!
//! No font is read: text widths are estimated, generously, and labels are placed so that their
//! estimated boxes do not overlap; a label with no free place is left out, and the picture says
//! how many were.

mod labels;
mod style;
mod sweep;
mod timeline;

use crate::timeline::Timeline;

/// One setting of a sweep, as its picture shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepPoint {
    /// How the setting is named next to its point, e.g. `W=5s T=3` (shortened if long).
    pub label: String,
    /// The failures the setting let through to the caller (the x axis).
    pub failures_let_through: u64,
    /// The successes it rejected (the y axis).
    pub successes_rejected: u64,
    /// Whether it is on the Pareto front: no other setting does better on one axis and no
    /// worse on the other. Front points are joined by a line and labelled.
    pub pareto: bool,
}

/// A picture that could not be drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DrawError {
    /// The plotting library refused a drawing operation.
    #[error("cannot draw the picture: {0}")]
    Plot(String),
}

impl DrawError {
    /// The error of the plotting library, on one line.
    fn plot(error: impl std::fmt::Display) -> DrawError {
        let message = error.to_string();
        DrawError::Plot(message.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

/// Draws a run as SVG (1000 by 600): the calls per time step as stacked bars with the open
/// periods shaded and named by reason, and below them the failures in the window against T.
///
/// ```
/// use breaker::Outcome;
/// use breaker_replay::draw::timeline_svg;
/// use breaker_replay::timeline::{Decision, Timeline};
///
/// let mut timeline = Timeline::new(Some(3));
/// timeline.call(0.0, Decision::Admitted, Outcome::Success);
/// timeline.call(1.2, Decision::Admitted, Outcome::Failure);
/// timeline.failures_in_window(1.2, 1);
/// timeline.finish(1.2);
///
/// let svg = timeline_svg(&timeline, "W=5s T=3 on the demo's traffic")?;
/// assert!(svg.starts_with("<svg"));
/// assert!(svg.contains("failures in window"));
/// # Ok::<(), breaker_replay::draw::DrawError>(())
/// ```
pub fn timeline_svg(timeline: &Timeline, title: &str) -> Result<String, DrawError> {
    timeline::draw(timeline, title)
}

/// Draws a sweep as SVG (800 by 600): each setting as a point of the failures it let through
/// against the successes it rejected, the Pareto front joined by a line and labelled.
///
/// ```
/// use breaker_replay::draw::{sweep_svg, SweepPoint};
///
/// let point = |label: &str, failures, rejected, pareto| SweepPoint {
///     label: label.to_string(),
///     failures_let_through: failures,
///     successes_rejected: rejected,
///     pareto,
/// };
/// let points = [
///     point("W=5s T=3", 40, 2, true),
///     point("W=1s T=1", 10, 30, true),
///     point("W=30s T=10", 90, 5, false),
/// ];
/// let svg = sweep_svg(&points, "sweep of access.log")?;
/// assert!(svg.contains("W=5s T=3"));
/// # Ok::<(), breaker_replay::draw::DrawError>(())
/// ```
pub fn sweep_svg(points: &[SweepPoint], title: &str) -> Result<String, DrawError> {
    sweep::draw(points, title)
}

/// Checks shared by the tests of both pictures.
#[cfg(test)]
pub(crate) mod checks {
    /// Asserts that `svg` is a well-formed SVG document under a megabyte with no NaN in it.
    pub(crate) fn assert_sound(svg: &str) {
        assert!(
            svg.starts_with("<svg"),
            "starts with {:?}",
            &svg[..svg.len().min(40)]
        );
        assert!(svg.trim_end().ends_with("</svg>"), "ends badly");
        assert!(svg.len() < 1_000_000, "{} bytes", svg.len());
        let not_finite = ["NaN", "=\"inf", "=\"-inf", " inf", ",inf"];
        assert!(
            !not_finite.iter().any(|n| svg.contains(n)),
            "a number is not finite"
        );
        if let Err(error) = roxmltree::Document::parse(svg) {
            panic!("not well-formed XML: {error}");
        }
    }

    /// The texts of the document's `<text>` elements.
    pub(crate) fn texts(svg: &str) -> Vec<String> {
        match roxmltree::Document::parse(svg) {
            Ok(doc) => doc
                .descendants()
                .filter(|node| node.has_tag_name("text"))
                .filter_map(|node| node.text())
                .map(|text| text.trim().to_string())
                .collect(),
            Err(error) => panic!("not well-formed XML: {error}"),
        }
    }
}
