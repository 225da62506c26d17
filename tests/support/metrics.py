"""Reading a process's Prometheus metrics, as a scraper would."""

import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def metric_total(url: str, name: str) -> float:
    """The sum of every sample of metric ``name`` (all labels) at ``url``."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )
