"""The two conventions of manual lung masks, as the pairs table and the members name them.

V7's COVID-19 outlines (and the demo's phantoms) include the lung behind the heart and
down to the diaphragm; SCR's JSRT masks and Shenzhen's leave the region behind the heart
out. Kept in a module of its own: the workflow reads it to build the members' heads
without importing the segmentation stack.
"""

CONVENTIONS = ("includes_heart", "excludes_heart")
