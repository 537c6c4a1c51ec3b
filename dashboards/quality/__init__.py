"""What the UI calls *Quality*: the overview page's figures, from the hourly rollups.

overview.py  the query and `overview_build`, which runs the steps below
queries.py   the reads (rollups of the period and of the references, error categories)
folds.py     rollup rows summed per version and per (bucket, version) cell; numpy, no Django
figures.py   each section's numbers and flags; no Django
sections.py  the sections: titles, leads, a chart and a table each
charts.py    the chart JSON of each section
tables.py    the table of each section, and `section_table` for the CSV download
display.py   the sections as the page shows them, in the reader's language

Only overview.py, queries.py and display.py touch Django; the rest is plain Python and numpy.
"""
