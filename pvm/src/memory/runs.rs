//! The accessible pages of an address space as maximal runs, so that searches for free space
//! (GP 0.7 `sbrk`) skip whole runs instead of visiting pages.

use std::collections::BTreeMap;

/// Disjoint, non-adjacent runs of accessible pages: first page → last page (inclusive).
#[derive(Debug, Default, Clone)]
pub(super) struct PageRuns {
    runs: BTreeMap<u32, u32>,
}

impl PageRuns {
    /// Every run as `(first, last)` page, in address order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.runs.iter().map(|(&first, &last)| (first, last))
    }

    /// Whether `page` is in a run.
    pub(super) fn contains(&self, page: u32) -> bool {
        self.runs
            .range(..=page)
            .next_back()
            .is_some_and(|(_, &last)| last >= page)
    }

    /// Whether pages `first..=last` all lie in one run (are all accessible).
    pub(super) fn covers(&self, first: u32, last: u32) -> bool {
        self.runs
            .range(..=first)
            .next_back()
            .is_some_and(|(_, &end)| end >= last)
    }

    /// Marks pages `first..=last` accessible or not.
    pub(super) fn set(&mut self, first: u32, last: u32, accessible: bool) {
        debug_assert!(first <= last);
        // Remove every run that overlaps (or, when adding, touches) the range, keeping the parts
        // that stick out.
        let lo = if accessible {
            first.saturating_sub(1)
        } else {
            first
        };
        let hi = if accessible {
            last.saturating_add(1)
        } else {
            last
        };
        let mut new_first = first;
        let mut new_last = last;
        let starts: Vec<u32> = self
            .runs
            .range(..=hi)
            .rev()
            .take_while(|(_, &end)| end >= lo)
            .map(|(&start, _)| start)
            .collect();
        for start in starts {
            let end = self.runs.remove(&start).unwrap_or(start);
            if accessible {
                new_first = new_first.min(start);
                new_last = new_last.max(end);
            } else {
                if start < first {
                    self.runs.insert(start, first - 1);
                }
                if end > last {
                    self.runs.insert(last + 1, end);
                }
            }
        }
        if accessible {
            self.runs.insert(new_first, new_last);
        }
    }

    /// The last page of the run that contains an accessible page in `first..=last`, if any
    /// (the highest such run).
    pub(super) fn overlapping_end(&self, first: u32, last: u32) -> Option<u32> {
        self.runs
            .range(..=last)
            .next_back()
            .and_then(|(_, &end)| (end >= first).then_some(end))
    }

    /// Whether no page is in any run.
    pub(super) fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Number of runs.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.runs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_split_and_answer_overlaps() {
        let mut r = PageRuns::default();
        r.set(10, 12, true);
        r.set(13, 15, true); // adjacent: merges
        assert_eq!(r.len(), 1);
        assert_eq!(r.overlapping_end(0, 9), None);
        assert_eq!(r.overlapping_end(0, 10), Some(15));
        assert_eq!(r.overlapping_end(16, 20), None);
        r.set(12, 13, false); // split
        assert_eq!(r.len(), 2);
        assert_eq!(r.overlapping_end(12, 13), None);
        assert_eq!(r.overlapping_end(12, 14), Some(15));
        assert_eq!(r.overlapping_end(0, 12), Some(11));
        r.set(0, 100, true);
        assert_eq!(r.len(), 1);
        r.set(0, u32::MAX >> 12, false);
        assert_eq!(r.len(), 0);
        r.set(0, 0, true);
        r.set(2, 2, true);
        assert_eq!(r.len(), 2);
    }
}
