-- Every identifier belongs to exactly one customer (or is marked shared).
select identifier_type, identifier_value, count(*) as customers
from {{ ref('int_identities_stitched') }}
group by all
having count(*) > 1
