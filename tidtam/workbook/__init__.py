"""The import workbook: its layout, reading .xlsx or CSV, validation, the import itself, the blank
template and the demo-data generator.

Modules, in the order data flows: ``columns`` (sheets, columns, header aliases) → ``reader`` (rows as
tuples) → ``cells`` (one value) → ``validate`` (one sheet) → ``references`` (between sheets) →
``existing`` (the database's rows) → ``plan`` (what would change) → ``apply`` (Core bulk writes);
``importer`` ties them together. ``template`` and ``demo`` write workbooks.
"""

from tidtam.workbook.importer import ImportResult, import_source, import_workbook

__all__ = ["ImportResult", "import_source", "import_workbook"]
