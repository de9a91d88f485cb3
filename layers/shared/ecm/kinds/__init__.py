"""The file kinds an import reads: each has its field map, row rules and planner (``mif``,
``authorization``), the only places where kinds differ; ``registry`` lists them for the one
import engine, and ``values`` holds the cell normalisers they share."""
