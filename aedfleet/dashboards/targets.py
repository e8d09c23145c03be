"""InfluxQL targets and annotations for the SDK's builders: the SDK ships no InfluxDB query
type, so these are the InfluxDB data source's documented JSON, typed as SDK dataqueries."""

from __future__ import annotations

from typing import Final, Literal

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard as model

DATASOURCE_UID: Final = "aedfleet-influxdb"
DATASOURCE: Final = model.DataSourceRef(type_val="influxdb", uid=DATASOURCE_UID)

ResultFormat = Literal["time_series", "table"]


class InfluxQLTarget(cogvariants.Dataquery):
    def __init__(self, query: str, ref_id: str, result_format: ResultFormat, alias: str) -> None:
        self.query = query
        self.ref_id = ref_id
        self.result_format = result_format
        self.alias = alias

    def to_json(self) -> dict[str, object]:
        target: dict[str, object] = {
            "refId": self.ref_id,
            "datasource": DATASOURCE.to_json(),
            "query": self.query,
            "rawQuery": True,
            "resultFormat": self.result_format,
        }
        if self.alias:
            target["alias"] = self.alias
        return target


class Query(cogbuilder.Builder[cogvariants.Dataquery]):
    """A raw InfluxQL query as the InfluxDB data source stores it."""

    def __init__(
        self, influxql: str, *, ref_id: str = "A", table: bool = False, alias: str = ""
    ) -> None:
        self._target = InfluxQLTarget(influxql, ref_id, "table" if table else "time_series",
                                      alias)  # fmt: skip

    def build(self) -> cogvariants.Dataquery:
        return self._target


class InfluxQLAnnotation(model.AnnotationQuery):
    def __init__(self, name: str, query: str, text_column: str, tags_column: str, color: str):
        super().__init__(name=name, datasource=DATASOURCE, enable=True, icon_color=color)
        self.query = query
        self.text_column = text_column
        self.tags_column = tags_column

    def to_json(self) -> dict[str, object]:
        # the InfluxDB data source's annotation form, with no `target`: Grafana migrates
        # exactly this (a top-level query) into a target with `fromAnnotations` set, which is
        # what makes it read textColumn and tagsColumn; a `target` present skips that migration
        return {**super().to_json(), "query": self.query, "textColumn": self.text_column,
                "tagsColumn": self.tags_column}  # fmt: skip


class Annotation(cogbuilder.Builder[model.AnnotationQuery]):
    def __init__(self, name: str, influxql: str, *, text: str, tags: str, color: str) -> None:
        self._annotation = InfluxQLAnnotation(name, influxql, text, tags, color)

    def build(self) -> model.AnnotationQuery:
        return self._annotation
