//! The shape of a staged load profile: its spikes, shared by the macro (which checks that a
//! `recovery` key has a spike to recover from) and the judge (which times each recovery).

/// A spike in a load profile: a stage whose target is at least twice the target of the stage
/// before it, with the stages after it that stay that high.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spike {
    /// When the spike's first stage starts, ns from the start of the load.
    pub start_ns: u64,
    /// When the load falls back under twice its level before the spike (the start of the first
    /// lower stage): recovery is timed from here. `None` when the profile ends high.
    pub end_ns: Option<u64>,
    /// When the next spike starts, or the profile ends: recovery must hold until here.
    pub until_ns: u64,
}

/// The spikes of a profile given as (duration ns, target) per stage, in order.
pub fn spikes(steps: &[(u64, f64)]) -> Vec<Spike> {
    let starts: Vec<u64> = steps
        .iter()
        .scan(0u64, |t, &(d, _)| {
            let start = *t;
            *t += d;
            Some(start)
        })
        .collect();
    let total = steps.iter().map(|&(d, _)| d).sum::<u64>();
    let mut found: Vec<Spike> = Vec::new();
    let mut i = 1;
    while i < steps.len() {
        let before = steps[i - 1].1;
        if steps[i].1 < 2.0 * before || steps[i].1 <= before {
            i += 1;
            continue;
        }
        let high = (i + 1..steps.len()).find(|&j| steps[j].1 < 2.0 * before);
        if let Some(last) = found.last_mut() {
            last.until_ns = starts[i];
        }
        found.push(Spike {
            start_ns: starts[i],
            end_ns: high.map(|j| starts[j]),
            until_ns: total,
        });
        i = high.unwrap_or(steps.len());
    }
    found
}

#[cfg(test)]
mod tests {
    use super::{spikes, Spike};

    const S: u64 = 1_000_000_000;

    #[test]
    fn a_step_to_twice_the_load_is_a_spike_until_the_load_falls_back() {
        assert_eq!(
            spikes(&[(3 * S, 100.0), (2 * S, 800.0), (8 * S, 100.0)]),
            vec![Spike {
                start_ns: 3 * S,
                end_ns: Some(5 * S),
                until_ns: 13 * S
            }]
        );
        // Up, held, then down: the spike ends where the load is under twice 100 again.
        assert_eq!(
            spikes(&[
                (S, 100.0),
                (S, 500.0),
                (4 * S, 500.0),
                (S, 150.0),
                (S, 150.0)
            ]),
            vec![Spike {
                start_ns: S,
                end_ns: Some(6 * S),
                until_ns: 8 * S
            }]
        );
    }

    #[test]
    fn ramps_below_twice_are_not_spikes_and_a_second_spike_bounds_the_first() {
        assert!(spikes(&[(S, 100.0), (S, 190.0), (S, 370.0)]).is_empty());
        assert!(spikes(&[(S, 0.0), (S, 0.0)]).is_empty());
        assert_eq!(
            spikes(&[(S, 10.0), (S, 40.0), (2 * S, 10.0), (S, 30.0), (S, 10.0)]),
            vec![
                Spike {
                    start_ns: S,
                    end_ns: Some(2 * S),
                    until_ns: 4 * S
                },
                Spike {
                    start_ns: 4 * S,
                    end_ns: Some(5 * S),
                    until_ns: 6 * S
                }
            ]
        );
        assert_eq!(
            spikes(&[(S, 10.0), (S, 40.0)]),
            vec![Spike {
                start_ns: S,
                end_ns: None,
                until_ns: 2 * S
            }]
        );
    }
}
