"""The consistency checker: a seeded concurrent workload with faults, then invariants on stored state."""
