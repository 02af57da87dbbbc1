"""The complete case file an ombudsman or regulator asks for, as one self-contained HTML page or a PDF printed
from it by headless Chromium: what is read (``gather``), how it is written (``pages``, templates/casefile/),
and the printing (``pdf``). ``reading`` is ``mailbot cases show --full``."""
