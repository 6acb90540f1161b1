"""latentexplorer: spectroscopic ages from APOGEE spectra through a variational encoder-decoder
trained to reconstruct Kepler power spectra (Leung, Bovy, Mackereth & Miglio 2023), and tools to
explore it."""

__version__ = "0.2.0"
