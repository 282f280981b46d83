{# The references the pipeline cannot guarantee: a child row's key into a parent that another
   source, or a later delivery of the same source, provides. Each is
   (kind, child model, child key, foreign key, parent model, parent key). #}
{% macro orphan_kinds() %}
{{ return([
    ('order_line_unknown_order', 'stg_oms__order_lines', 'order_line_id', 'order_id', 'stg_oms__orders', 'order_id'),
    ('order_line_unknown_product', 'stg_oms__order_lines', 'order_line_id', 'product_id', 'stg_pim__products', 'product_id'),
    ('return_unknown_order', 'stg_oms__returns', 'return_id', 'order_id', 'stg_oms__orders', 'order_id'),
    ('return_unknown_order_line', 'stg_oms__returns', 'return_id', 'order_line_id', 'stg_oms__order_lines', 'order_line_id'),
    ('inventory_unknown_location', 'stg_wms__inventory_snapshots', 'inventory_snapshot_id', 'location_id', 'stg_wms__locations', 'location_id'),
    ('inventory_unknown_product', 'stg_wms__inventory_snapshots', 'inventory_snapshot_id', 'product_id', 'stg_pim__products', 'product_id'),
    ('inbound_shipment_unknown_location', 'stg_wms__inbound_shipments', 'shipment_id', 'location_id', 'stg_wms__locations', 'location_id'),
    ('inbound_shipment_unknown_product', 'stg_wms__inbound_shipments', 'shipment_id', 'product_id', 'stg_pim__products', 'product_id'),
    ('ticket_unknown_order', 'stg_crm__support_tickets', 'ticket_id', 'order_id', 'stg_oms__orders', 'order_id'),
    ('review_unknown_product', 'stg_pim__reviews', 'review_id', 'product_id', 'stg_pim__products', 'product_id'),
    ('email_event_unknown_customer', 'stg_crm__email_events', 'email_event_id', 'crm_customer_id', 'stg_crm__customers', 'crm_customer_id'),
    ('consent_unknown_customer', 'stg_crm__marketing_consents', 'consent_event_id', 'crm_customer_id', 'stg_crm__customers', 'crm_customer_id'),
]) }}
{% endmacro %}
