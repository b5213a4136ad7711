"""`lumen-ext test`: the CI gate. Serve each spec headless, use it in Chromium as a viewer would, and check it.

The engine is written for users and reused by the browser tests (``tests/ui``), so there is one copy of the
driving logic:

* :mod:`~lumen_ext.gate.browser`: finding and launching Chromium; what a page does wrong (console, page errors);
* :mod:`~lumen_ext.gate.launch`, :mod:`~lumen_ext.gate.server`: `lumen-ext serve` on a free loopback port, its log;
* :mod:`~lumen_ext.gate.page`, :mod:`~lumen_ext.gate.settle`, :mod:`~lumen_ext.gate.outline`: reading the page
  through its Bokeh document, waiting for it to settle and timing it, finding each view;
* :mod:`~lumen_ext.gate.controls`, :mod:`~lumen_ext.gate.downloads`: operating widgets and download buttons;
* :mod:`~lumen_ext.gate.drive`: the whole dashboard in one page, recorded as a `PageRun`;
* :mod:`~lumen_ext.gate.verdicts`, :mod:`~lumen_ext.gate.data`: checks from the run, the budgets and the data
  assertions of the checks file (`lumen_ext.checks`);
* :mod:`~lumen_ext.gate.report`, :mod:`~lumen_ext.gate.junit`: text and JUnit XML;
* :mod:`~lumen_ext.gate.command`: the subcommand.

Playwright (the ``gate`` extra) is imported only when a browser is launched or driven.
"""
