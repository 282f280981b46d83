"""Great Expectations 1.x suites for the feature tables, and the runner that validates a
dataframe against one. `import great_expectations` is slow: it happens inside the functions,
never at import time of this package."""
