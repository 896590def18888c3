"""Notebook integration: headless execution, magics, live progress, approval widgets.

```python
from agentnb.notebook import ask, progress

ask(support, "Where is order 1042?")   # what `%ask support "Where is order 1042?"` does
with progress(support):                 # live progress for any code that runs the agent
    support.run_sync("Where is order 1042?")
```
`%load_ext agentnb` registers the magics (`agentnb.notebook.magics`).

Importing this package stays cheap (no nbclient, nbformat, IPython or ipywidgets): each module
imports its heavy dependencies when first used.
"""

from agentnb.notebook.execute import CellReport, NotebookSummary, execute_notebook
from agentnb.notebook.progress import ask, progress

__all__ = ["CellReport", "NotebookSummary", "ask", "execute_notebook", "progress"]
