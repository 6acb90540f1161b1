"""The report's drawing and writing: ``figures.py`` (the paper's figures from audit results) and ``summary.py``
(the acceptance targets, Markdown and HTML). The report step itself is :mod:`latentexplorer.steps.report`."""
