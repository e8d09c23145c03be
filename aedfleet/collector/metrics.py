"""The collector's own metrics in Prometheus text format, read from plain counters at scrape
time so the hot path never takes a metrics lock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

_PREFIX = "aedfleet_collector_"


class _Reader(Collector):
    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        values = self._read()
        for name, (kind, help_text, value, *label_name) in values.items():
            family: Metric
            if isinstance(value, dict):
                label = label_name[0] if label_name else "reason"
                family = (
                    CounterMetricFamily(_PREFIX + name, help_text, labels=[label])
                    if kind == "counter"
                    else GaugeMetricFamily(_PREFIX + name, help_text, labels=[label])
                )
                for key, count in sorted(value.items()):
                    family.add_metric([key], count)
            elif kind == "counter":
                family = CounterMetricFamily(_PREFIX + name, help_text, value=value)
            else:
                family = GaugeMetricFamily(_PREFIX + name, help_text, value=value)
            yield family


def registry_for(read: Callable[[], dict[str, Any]]) -> CollectorRegistry:
    """`read` returns {name: ("counter"|"gauge", help, number or {reason: number})}; a fourth
    item names the label of a dict instead of "reason"."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Reader(read))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
