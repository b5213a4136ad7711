"""A third-party component package, as lumen-ext sees it through the `lumen_ext.components` entry point.

Describes its components as data, so validating a spec that uses them never imports Lumen.
"""

COMPONENTS = [
    {
        "family": "source",
        "type": "demo_api",
        "class": "lumen_ext_demo_plugin.DemoAPISource",
        "doc": "Reads tables from the demo HTTP API.",
        "keys_checked": True,
        "required": ["endpoint"],
        "fields": {
            "endpoint": {"t": "str", "doc": "Base URL of the API."},
            "timeout": {"t": "num", "min": 0, "doc": "Request timeout in seconds."},
            "shared": {"t": "bool"},
        },
    }
]
