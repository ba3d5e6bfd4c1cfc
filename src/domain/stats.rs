//! Statistical disclosure control for adoption statistics: no figure for a group of fewer than
//! `k` enterprises, and complementary suppression so that a hidden cell cannot be recovered by
//! subtracting the shown cells from a total.

/// The smallest group size that may ever be shown.
pub const MIN_GROUP: i64 = 5;

/// Which rows of a table to hide, given the number of enterprises behind each row and whether
/// the table's total is shown. A row is hidden when 0 < size < k; if that hides exactly one row
/// while the total is shown, the smallest other row is hidden too.
pub fn suppress(sizes: &[i64], k: i64) -> Vec<bool> {
    let k = k.max(MIN_GROUP);
    let mut hidden: Vec<bool> = sizes.iter().map(|n| *n > 0 && *n < k).collect();
    if hidden.iter().filter(|h| **h).count() == 1 {
        let partner = sizes
            .iter()
            .enumerate()
            .filter(|(i, n)| !hidden[*i] && **n > 0)
            .min_by_key(|(i, n)| (**n, *i))
            .map(|(i, _)| i);
        // With no partner the hidden row is the only non-empty one, and the total (then also
        // below k) is hidden by `total_shown`.
        if let Some(i) = partner {
            hidden[i] = true;
        }
    }
    hidden
}

/// Whether a total over `size` enterprises may be shown.
pub fn total_shown(size: i64, k: i64) -> bool {
    size == 0 || size >= k.max(MIN_GROUP)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn small_groups_are_hidden_with_a_partner() {
        assert_eq!(suppress(&[10, 3, 20], 5), [true, true, false]);
        assert_eq!(suppress(&[10, 3, 2], 5), [false, true, true]);
        assert_eq!(suppress(&[10, 0, 20], 5), [false, false, false]);
        assert_eq!(suppress(&[3], 5), [true]);
        // k is never below the minimum.
        assert_eq!(suppress(&[3, 8], 2), [true, true]);
    }

    proptest! {
        /// Whatever the sizes, a shown total never reveals a single hidden row.
        #[test]
        fn no_single_hidden_cell_can_be_derived(sizes in proptest::collection::vec(0..40i64, 1..12), k in 5..10i64) {
            let hidden = suppress(&sizes, k);
            let total: i64 = sizes.iter().sum();
            for (n, h) in sizes.iter().zip(&hidden) {
                if *n > 0 && *n < k {
                    prop_assert!(*h, "a small group is shown");
                }
            }
            let hidden_nonzero = sizes.iter().zip(&hidden).filter(|(n, h)| **h && **n > 0).count();
            if total_shown(total, k) && sizes.iter().filter(|n| **n > 0).count() > 1 {
                prop_assert!(hidden_nonzero != 1, "one hidden row could be derived from the total");
            }
        }
    }
}
