"""Everything a person reads: Thai strings, error messages, date/number/money formatting and parsing."""
