"""Hours: the weekly timesheet, entries, mileage, CE and progress."""
