"""Great Expectations 1.x suites and gates: raw-table suites from the contracts (raw_suites), the
feature tables' blocking gates (gate: invariants in suites, the deployment's profile, baseline
and overrides in profile and baseline), one runner (runner) and stored reports (report).
`import great_expectations` is slow: it happens inside functions, never at import time.
Why the gates block: docs/adr/blocking-feature-gates.md."""
