{# Salted SHA-256 of a normalised identifier (lower-cased, trimmed). Raw emails and phones stay
   in the raw layer; everything downstream joins on these hashes. Empty strings become null. #}
{# Placeholder emails typed at checkout (test@..., noemail@..., reserved example/invalid
   domains) identify nobody: they become null so they cannot glue strangers together. #}
{% macro hash_email(column) -%}
    case when nullif(lower(trim({{ column }})), '') is not null
          and not regexp_matches(lower(trim({{ column }})), '{{ var("identity_junk_email_pattern") }}')
         then sha256('{{ var("pii_salt") }}' || lower(trim({{ column }}))) end
{%- endmacro %}

{% macro hash_phone(column) -%}
    case when length(regexp_replace(coalesce({{ column }}, ''), '[^0-9]', '', 'g')) >= 6
         then sha256('{{ var("pii_salt") }}' || regexp_replace({{ column }}, '[^0-9]', '', 'g')) end
{%- endmacro %}
