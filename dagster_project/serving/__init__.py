"""The project's online feature server: a lean read path answering Feast's `/get-online-features`
request and response shape in front of the same online store (SQLite or Redis), with TTL and
maximum-age semantics, strict request validation and limits, a `/push` endpoint, and the
consistency check between the online store and the offline feature tables.

See docs/serving.md for the HTTP contract and docs/adr/lean-online-read-path.md for why it exists
next to `feast serve`.
"""
