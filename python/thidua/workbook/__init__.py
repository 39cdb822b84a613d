"""The master workbook ThiDua2019.xlsm: its sheet layout, its build, its VBA."""
