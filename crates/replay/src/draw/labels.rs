//! Places labels so that none overlaps another, an obstacle, or the edge of its area.
//!
//! Greedy and first-come: each label offers its candidate boxes in order of preference and takes
//! the first that is free. That is enough for the few dozen labels a picture carries, keeps the
//! result predictable (the same input gives the same picture), and a label that finds no room
//! is reported, so that the picture can say it left it out rather than pile it on another.

/// A box in pixels: `x0 <= x < x1`, `y0 <= y < y1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Area {
    pub(crate) x0: i32,
    pub(crate) y0: i32,
    pub(crate) x1: i32,
    pub(crate) y1: i32,
}

impl Area {
    /// The box of `width` by `height` whose top left corner is `(x, y)`.
    pub(crate) fn at(x: i32, y: i32, width: i32, height: i32) -> Area {
        Area {
            x0: x,
            y0: y,
            x1: x.saturating_add(width),
            y1: y.saturating_add(height),
        }
    }

    /// Whether the two boxes share a pixel once each is grown by `gap`.
    fn touches(&self, other: &Area, gap: i32) -> bool {
        self.x0 < other.x1 + gap
            && other.x0 < self.x1 + gap
            && self.y0 < other.y1 + gap
            && other.y0 < self.y1 + gap
    }

    /// Whether `other` lies wholly inside this box.
    fn holds(&self, other: &Area) -> bool {
        self.x0 <= other.x0 && other.x1 <= self.x1 && self.y0 <= other.y0 && other.y1 <= self.y1
    }
}

/// The boxes taken so far inside a bounding box.
#[derive(Debug)]
pub(crate) struct Placer {
    bounds: Area,
    gap: i32,
    taken: Vec<Area>,
}

impl Placer {
    /// A placer for labels inside `bounds`, kept `gap` pixels apart.
    pub(crate) fn new(bounds: Area, gap: i32) -> Placer {
        Placer {
            bounds,
            gap,
            taken: Vec::new(),
        }
    }

    /// Marks `area` as taken, by a point say, whether or not it is inside the bounds.
    pub(crate) fn block(&mut self, area: Area) {
        self.taken.push(area);
    }

    /// Takes the first of `candidates` that is inside the bounds and free, and returns it.
    pub(crate) fn place(&mut self, candidates: impl IntoIterator<Item = Area>) -> Option<Area> {
        let free = candidates.into_iter().find(|candidate| {
            self.bounds.holds(candidate)
                && !self
                    .taken
                    .iter()
                    .any(|taken| taken.touches(candidate, self.gap))
        })?;
        self.taken.push(free);
        Some(free)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placer() -> Placer {
        Placer::new(Area::at(0, 0, 100, 100), 2)
    }

    #[test]
    fn a_label_takes_its_first_free_candidate() {
        let mut placer = placer();
        let first = Area::at(10, 10, 30, 10);
        assert_eq!(placer.place([first]), Some(first));
        let below = Area::at(10, 30, 30, 10);
        assert_eq!(placer.place([first, below]), Some(below));
    }

    #[test]
    fn a_label_with_no_free_place_is_refused() {
        let mut placer = placer();
        placer.block(Area::at(0, 0, 50, 50));
        assert_eq!(placer.place([Area::at(40, 40, 20, 5)]), None);
        assert_eq!(
            placer.place([Area::at(51, 0, 10, 10)]),
            None,
            "within the gap"
        );
        assert_eq!(
            placer.place([Area::at(90, 90, 20, 5)]),
            None,
            "past the edge"
        );
        assert!(placer.place([Area::at(60, 60, 20, 5)]).is_some());
    }
}
