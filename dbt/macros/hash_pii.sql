{# Salted SHA-256 of a normalised identifier (lower-cased, trimmed). Raw emails and phones stay
   in the raw layer; everything downstream joins on these hashes. Empty strings become null. #}
{# Placeholder emails typed at checkout (test@..., noemail@..., reserved example/invalid
   domains) identify nobody: they become null so they cannot glue strangers together. #}
{# The salt (var pii_salt, from RCL_PII_SALT, which `rcl run` resolves to the data dir's own salt
   when unset): an empty one would make every hash a plain SHA-256 of the email, reversible from
   any list of emails, so compiling a model that hashes stops instead. #}
{% macro pii_salt() -%}
    {%- if execute and not (var("pii_salt") | string | trim) -%}
        {{ exceptions.raise_compiler_error("var pii_salt (RCL_PII_SALT) is empty: run dbt through `rcl run` or `rcl dbt`, or eval \"$(rcl env)\" first") }}
    {%- endif -%}
    {{ var("pii_salt") }}
{%- endmacro %}

{% macro hash_email(column) -%}
    case when nullif(lower(trim({{ column }})), '') is not null
          and not regexp_matches(lower(trim({{ column }})), '{{ var("identity_junk_email_pattern") }}')
         then sha256('{{ pii_salt() }}' || lower(trim({{ column }}))) end
{%- endmacro %}

{# Phones are compared in international form, digits only: "+49 170 1234567", "0049 170 ..."
   and the national "0170 1234567" are one number ("+44 (0)20 ..." drops the trunk zero in
   brackets). A national number (no + or 00) drops one trunk prefix (var phone_trunk_prefix:
   '0' in most of Europe, '1' in North America) and takes the deployment's country calling code
   (var default_phone_country_code). Without a configured country it stays unknown (null): a
   guessed country would link strangers abroad. #}
{% macro normalize_phone(column) -%}
    {%- set country = var("default_phone_country_code") | string | trim -%}
    {%- set trunk = var("phone_trunk_prefix") | string | trim -%}
    {%- set digits = "regexp_replace(coalesce(" ~ column ~ ", ''), '[^0-9]', '', 'g')" -%}
    (case
        when regexp_replace(replace(coalesce({{ column }}, ''), '(0)', ''), '[^0-9+]', '', 'g') like '+%'
            then regexp_replace(replace({{ column }}, '(0)', ''), '[^0-9]', '', 'g')
        when {{ digits }} like '00%'
            then substr({{ digits }}, 3)
        {%- if country %}
        {%- if trunk %}
        when {{ digits }} like '{{ trunk }}%'
            then '{{ country }}' || substr({{ digits }}, {{ trunk | length + 1 }})
        {%- endif %}
        -- digits already starting with the country code are an international number without its +
        when {{ digits }} like '{{ country }}%' then {{ digits }}
        else '{{ country }}' || {{ digits }}
        {%- else %}
        else null
        {%- endif %}
    end)
{%- endmacro %}

{% macro hash_phone(column) -%}
    case when length({{ normalize_phone(column) }}) >= 6
         then sha256('{{ pii_salt() }}' || {{ normalize_phone(column) }}) end
{%- endmacro %}
