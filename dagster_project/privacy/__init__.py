"""The right to be forgotten: `rcl forget` and the `forget_person` job resolve an identifier to a
person through the identity graph and delete them from every layer (privacy/forget.py), keep
their identifiers' salted hashes on a suppression list that ingestion drops (privacy/suppression.py),
and append an audit entry. What is stored where and how a request is verified: docs/privacy.md."""
