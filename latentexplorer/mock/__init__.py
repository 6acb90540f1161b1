"""The mock APOGEE–Kepler survey: a simulated Galaxy population with its spectra, light curves and
catalogs written in the surveys' real file formats (the embedded default dataset and the
injection–recovery testbed)."""
