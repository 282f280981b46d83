"""The landing sensors on a real landing folder: a new delivery file requests its source's
partition for the file's day, the same files again request nothing, a changed file requests the
day again under a new run key; several days are one run over their range; files that are not
deliveries (uploads in progress, other sources) and days without a partition yet do not count."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import dagster as dg
import pytest

from dagster_project.defs import build_defs
from dagster_project.defs.resources import RclSettings
from dagster_project.pipeline import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from dagster_project.settings import Settings

HEADER = "shipment_id,product_id,location_id,quantity,announced_at,expected_at,received_at\n"
ROW = "S{n},P1,W1,5,2026-01-01T08:00:00Z,2026-01-05T08:00:00Z,\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("landing_sensors")
    (data_dir / "landing").mkdir()
    settings = Settings.for_data_dir(data_dir, partitions_start="2026-01-01")
    return build_defs(settings), settings


def _deliver(settings: Settings, day: str, rows: int = 1, entity: str = "inbound_shipments", suffix: str = ".csv"):
    path = settings.landing_dir / "wms" / entity / f"{day}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(ROW.format(n=n) for n in range(rows)))
    return path


def _tick(defs: dg.Definitions, settings: Settings, sensor_name: str, cursor: str | None):
    sensor = defs.get_repository_def().get_sensor_def(sensor_name)
    context = dg.build_sensor_context(cursor=cursor, definitions=defs,
                                      resources={"rcl_settings": RclSettings.from_settings(settings)})
    return sensor.evaluate_tick(context)


def test_new_same_and_changed_files(world):
    defs, settings = world
    assert _tick(defs, settings, "wms_landing_files", None).run_requests == []  # an empty landing folder

    path = _deliver(settings, "2026-01-02")
    first = _tick(defs, settings, "wms_landing_files", None)
    (request,) = first.run_requests
    assert request.partition_key == "2026-01-02"
    assert request.run_key.startswith("wms:2026-01-02..2026-01-02:")
    assert request.tags["rcl/source_system"] == "wms"

    again = _tick(defs, settings, "wms_landing_files", first.cursor)
    assert again.run_requests == [] and "no new or changed wms delivery files" in again.skip_message
    assert again.cursor == first.cursor

    # a re-delivery of the same day: new size and modification time, a new run key
    _deliver(settings, "2026-01-02", rows=3)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    changed = _tick(defs, settings, "wms_landing_files", again.cursor)
    (redelivery,) = changed.run_requests
    assert redelivery.partition_key == "2026-01-02" and redelivery.run_key != request.run_key

    # the same size, only a new modification time (a file copied again) also counts
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    touched = _tick(defs, settings, "wms_landing_files", changed.cursor)
    assert [r.partition_key for r in touched.run_requests] == ["2026-01-02"]
    assert touched.run_requests[0].run_key not in {request.run_key, redelivery.run_key}


def test_several_days_are_one_run_over_their_range_and_other_files_do_not_count(world):
    defs, settings = world
    cursor = _tick(defs, settings, "wms_landing_files", None).cursor
    _deliver(settings, "2026-02-03", entity="locations")
    _deliver(settings, "2026-02-05", entity="inventory_snapshots")
    _deliver(settings, "2026-02-07", suffix=".csv.part")  # an upload in progress
    (settings.landing_dir / "wms" / "inbound_shipments" / "notes.txt").write_text("not a delivery")
    result = _tick(defs, settings, "wms_landing_files", cursor)
    (request,) = result.run_requests
    assert request.partition_key is None
    assert (request.tags[PARTITION_RANGE_START_TAG], request.tags[PARTITION_RANGE_END_TAG]) == ("2026-02-03", "2026-02-05")

    # another system's sensor sees nothing of wms; its own files only
    web = settings.landing_dir / "web" / "events" / "2026-02-04.jsonl"
    web.parent.mkdir(parents=True)
    web.write_text("{}\n")
    (web_request,) = _tick(defs, settings, "web_landing_files", None).run_requests
    assert web_request.partition_key == "2026-02-04" and web_request.run_key.startswith("web:")
    assert _tick(defs, settings, "oms_landing_files", None).run_requests == []
    assert _tick(defs, settings, "wms_landing_files", result.cursor).run_requests == []


def test_a_delivery_without_its_partition_yet_waits_for_it(world):
    defs, settings = world
    cursor = _tick(defs, settings, "wms_landing_files", None).cursor
    today = datetime.now(timezone.utc).date().isoformat()  # its daily partition ends at midnight UTC
    _deliver(settings, today)
    _deliver(settings, "2025-12-30")  # before the first partition: left to full refreshes
    for _ in range(2):
        result = _tick(defs, settings, "wms_landing_files", cursor)
        assert result.run_requests == []
        assert today not in result.cursor and "2025-12-30" in result.cursor
