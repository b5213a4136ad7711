"""`pipeline_frame` (the data endpoint's computation) on chained pipelines: ``pipeline: parent`` specs.

Lumen resolves a parent by name in ``state.pipelines`` only; the endpoint built the requested pipeline alone, so every
chained pipeline answered HTTP 500 (``Pipeline 'events' could not be resolved``). Run in a fresh interpreter from
``specs/``: Lumen's state is process-wide and its relative paths resolve against the working directory.
"""

from __future__ import annotations

import pandas as pd
from support.paths import REPO, SPECS_DIR
from support.probe import run_python


def test_a_chained_pipeline_is_built_on_its_parents_and_their_filters():
    got = run_python(
        "import json, os\n"
        "from pathlib import Path\n"
        f"os.chdir({str(SPECS_DIR)!r})\n"
        "from lumen_ext.serving.pipeline_data import pipeline_frame\n"
        "frame = pipeline_frame(Path('penguins.yaml'), 'species_means', {'island': ['Dream']})\n"
        "print(frame.to_json(orient='records'))"
    )
    birds = pd.read_parquet(REPO / "sources" / "penguins.parquet")
    measures = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    dream = birds[birds.island == "Dream"].dropna(subset=measures)
    expected = dream.groupby("species", observed=True)[measures].mean().reset_index()
    pd.testing.assert_frame_equal(pd.DataFrame(got), expected, check_dtype=False)
