"""Building blocks shared by the step kinds: the StepKind protocol and step base, sweeps, scans, conditions."""
