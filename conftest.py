"""pytest's settings for the whole repository: the package tests and the notebooks.

`pytest` runs two workers (-n 2, one notebook each) on the two cores CI has. A notebook
kernel whose BLAS also starts two threads oversubscribes them, and OpenBLAS's waiting
threads then slow the small products of a chapter several times over (a chapter measured
2.5 min so, against 20 s with one thread). Each kernel inherits one thread from here, also
when a single notebook is run (`pytest book/PART/CHAPTER.ipynb`).
"""

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
