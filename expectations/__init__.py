"""Great Expectations 1.x gates: raw-table suites generated from the contracts (raw_suites),
and the feature tables' gates (gate): invariants (suites), the deployment's profile, baseline
and overrides (profile, baseline), run through one runner (runner) and stored as JSON and HTML
(report). `import great_expectations` is slow: it happens inside the functions, never at import
time of this package."""
