{# Salted SHA-256 of a normalised identifier (lower-cased, trimmed). Raw emails and phones stay
   in the raw layer; everything downstream joins on these hashes. Empty strings become null. #}
{# Placeholder emails typed at checkout (test@..., noemail@..., reserved example/invalid
   domains) identify nobody: they become null so they cannot glue strangers together. #}
{% macro hash_email(column) -%}
    case when nullif(lower(trim({{ column }})), '') is not null
          and not regexp_matches(lower(trim({{ column }})), '{{ var("identity_junk_email_pattern") }}')
         then sha256('{{ var("pii_salt") }}' || lower(trim({{ column }}))) end
{%- endmacro %}

{# Phones are compared in international form, digits only: "+49 170 1234567", "0049 170 ..."
   and the national "0170 1234567" are one number (national numbers take
   var default_phone_country_code; "+44 (0)20 ..." drops the trunk zero in brackets). #}
{% macro normalize_phone(column) -%}
    (case
        when regexp_replace(replace(coalesce({{ column }}, ''), '(0)', ''), '[^0-9+]', '', 'g') like '+%'
            then regexp_replace(replace({{ column }}, '(0)', ''), '[^0-9]', '', 'g')
        when regexp_replace(coalesce({{ column }}, ''), '[^0-9]', '', 'g') like '00%'
            then substr(regexp_replace({{ column }}, '[^0-9]', '', 'g'), 3)
        when regexp_replace(coalesce({{ column }}, ''), '[^0-9]', '', 'g') like '0%'
            then '{{ var("default_phone_country_code") }}' || substr(regexp_replace({{ column }}, '[^0-9]', '', 'g'), 2)
        else regexp_replace(coalesce({{ column }}, ''), '[^0-9]', '', 'g')
    end)
{%- endmacro %}

{% macro hash_phone(column) -%}
    case when length({{ normalize_phone(column) }}) >= 6
         then sha256('{{ var("pii_salt") }}' || {{ normalize_phone(column) }}) end
{%- endmacro %}
