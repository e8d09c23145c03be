"""`aedfleet dashboards push`: the data source, the folder and the dashboards uploaded to a
running Grafana through its HTTP API (grafana-client), idempotently: a second push updates
what the first created, by uid, and creates nothing new."""

from __future__ import annotations

from typing import Any, Final, NamedTuple

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError

from aedfleet.dashboards.boards import DASHBOARDS, FOLDER
from aedfleet.dashboards.provisioning import dashboard_json, datasource
from aedfleet.dashboards.targets import DATASOURCE_UID

FOLDER_UID: Final = "aedfleet"
NOT_FOUND: Final = 404


class Pushed(NamedTuple):
    datasource: str  # "created" or "updated"
    folder: str
    dashboards: dict[str, int]  # uid -> version Grafana now holds


def _exists(fetch: Any, uid: str) -> bool:
    try:
        fetch(uid)
    except GrafanaClientError as error:
        if error.status_code == NOT_FOUND:
            return False
        raise
    return True


def push(
    url: str,
    token: str,
    *,
    influx_url: str,
    database: str,
    username: str = "",
    password: str = "",
    timeout_s: float = 10.0,
) -> Pushed:
    api = GrafanaApi.from_url(url, credential=token, timeout=timeout_s)
    source = datasource()
    source.update(url=influx_url, user=username)
    source["jsonData"] = {**source["jsonData"], "dbName": database}
    source["secureJsonData"] = {"password": password}
    if _exists(api.datasource.get_datasource_by_uid, DATASOURCE_UID):
        api.datasource.update_datasource_by_uid(DATASOURCE_UID, source)
        datasource_outcome = "updated"
    else:
        api.datasource.create_datasource(source)
        datasource_outcome = "created"
    folder_outcome = "kept"
    if not _exists(api.folder.get_folder, FOLDER_UID):
        api.folder.create_folder(FOLDER, uid=FOLDER_UID)
        folder_outcome = "created"
    versions = {}
    for name in DASHBOARDS:
        model = dashboard_json(name)
        answer = api.dashboard.update_dashboard({
            "dashboard": {**model, "id": None}, "folderUid": FOLDER_UID, "overwrite": True,
            "message": "aedfleet dashboards push",
        })  # fmt: skip
        versions[model["uid"]] = int(answer["version"])
    return Pushed(datasource_outcome, folder_outcome, versions)
