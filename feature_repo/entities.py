"""Feast entities: the join keys ML services look features up by."""

from feast import Entity, ValueType

customer = Entity(
    name="customer",
    join_keys=["customer_id"],
    value_type=ValueType.STRING,
    description="An identity-resolved customer (dbt model `customers`): one person across web, OMS and CRM.",
    tags={"owner": "customer-data", "dbt_model": "customers"},
)

product = Entity(
    name="product",
    join_keys=["product_id"],
    value_type=ValueType.STRING,
    description="A catalog product (PIM SKU).",
    tags={"owner": "customer-data", "dbt_model": "stg_pim__products"},
)
