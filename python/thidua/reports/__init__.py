"""Reports for the committee and the office: committee workbook, summaries, reminders, official layout."""
