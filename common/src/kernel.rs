//! The compute kernel of the comparison report: a fixed workload the guest runs (export
//! `kernel`) and the host runs natively, so that the guest's result is checked and its speed
//! compared with native code. It is here, in the crate both sides share, so that both run the
//! very same source.

use alloc::vec;

/// How many primes are below `limit`: a sieve of Eratosthenes followed by a count, with enough
/// memory traffic and branches to tell a JIT from an interpreter.
pub fn count_primes(limit: u32) -> u32 {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if limit < 3 {
        return 0;
    }
    let mut composite = vec![false; limit];
    let mut count = 0u32;
    for n in 2..limit {
        if composite.get(n).copied().unwrap_or(true) {
            continue;
        }
        count = count.wrapping_add(1);
        let mut multiple = n.saturating_mul(n);
        while let Some(slot) = composite.get_mut(multiple) {
            *slot = true;
            multiple = multiple.saturating_add(n);
        }
    }
    count
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_counts() {
        assert_eq!(super::count_primes(0), 0);
        assert_eq!(super::count_primes(3), 1);
        assert_eq!(super::count_primes(100), 25);
        assert_eq!(super::count_primes(1_000_000), 78_498);
    }
}
