"""Everything that extends Feast, in one place: the deployment's store and applying the feature
repo (repo), the feature tables it reads (feature_tables), the atomic online stores
(online_stores), the ASOF offline store and training sets (offline_store), publishing a view
(publish, proto_encoding), pushes across a publish (push), and the private Feast names these still
need (_private, checked by tests/test_feast_private_names.py)."""
