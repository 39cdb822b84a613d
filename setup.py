"""Packaging beyond pyproject.toml: ship the VBA sources of macros/ (the only place they are edited) inside the
package as thidua/workbook/macros/*.bas, so that an installed wheel can build the master workbook."""
from setuptools import find_packages, setup

setup(
    packages=find_packages("python") + ["thidua.workbook.macros"],
    package_dir={"": "python", "thidua.workbook.macros": "macros"},
    package_data={"thidua": ["data/*.toml", "data/*.csv", "data/*.json", "awards/layouts/*.docx"], "thidua.store.migrations": ["*.sql"],
                  "thidua.workbook.macros": ["*.bas"]},
)
