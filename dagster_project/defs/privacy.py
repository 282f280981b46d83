"""The `forget_person` job: a deletion request (the right to be forgotten) from the Dagster UI or
API, with run config, doing what `rcl forget` does (dagster_project/privacy/forget.py).

    ops:
      forget_request:
        config: {identifier_kind: customer_id, identifier: cus_..., request_id: DPO-2026-0042}

The run config is kept in Dagster's run history: name the person by their customer id (it
points to nothing once they are forgotten), not by a clear-text email or phone (docs/privacy.md)."""

import dagster as dg

from dagster_project.defs.resources import RclSettings
from dagster_project.privacy.identifiers import REQUEST_KINDS


class ForgetConfig(dg.Config):
    """identifier_kind: email, phone, account_id, crm_id, cookie or customer_id; identifier: its
    value; request_id: the request's reference in the audit log (default: generated)."""

    identifier_kind: str = "customer_id"
    identifier: str
    request_id: str | None = None


@dg.op(description="Delete one person from every layer, suppress their identifiers, append the audit entry.")
def forget_request(context: dg.OpExecutionContext, config: ForgetConfig, rcl_settings: RclSettings) -> dg.Output:
    from dagster_project.privacy.forget import SharedIdentifier, UnknownIdentifier, forget

    if config.identifier_kind not in REQUEST_KINDS:
        raise dg.Failure(f"identifier_kind must be one of {', '.join(REQUEST_KINDS)}, not {config.identifier_kind!r}")
    try:
        report = forget(rcl_settings.settings, config.identifier_kind, config.identifier, request_id=config.request_id)
    except (UnknownIdentifier, SharedIdentifier) as exc:
        raise dg.Failure(description=f"nothing changed: {exc}") from exc
    context.log.info(report.render())
    if report.remaining:
        raise dg.Failure(description=f"request {report.request_id} NOT verified: still found {report.remaining}")
    return dg.Output(None, metadata={
        "request_id": report.request_id, "outcome": report.outcome, "seconds": report.seconds,
        "rows_per_layer": dg.MetadataValue.json(report.totals()),
    })


@dg.job(name="forget_person", description="The right to be forgotten: one person out of every layer (docs/privacy.md).")
def forget_person_job():
    forget_request()
