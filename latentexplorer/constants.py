"""Solar, survey and method constants, in one place. Units are in the names or the comments."""

# --- Solar reference values for the asteroseismic scaling relations (Huber et al. 2011, ApJ 743, 143;
# the values adopted by the SYD pipeline, which also calibrated the paper's Eq. 6).
NUMAX_SUN_UHZ = 3090.0  # μHz
DELTANU_SUN_UHZ = 135.1  # μHz
TEFF_SUN_K = 5777.0  # K (nominal solar effective temperature, IAU 2015 gives 5772 K)
LOGG_SUN = 4.438  # dex, cgs

# --- Paper Eq. 6: the mean Δν–ν_max relation of Kepler red giants.
DELTANU_NUMAX_COEFF_UHZ = 0.263  # μHz
DELTANU_NUMAX_EXPONENT = 0.772

# --- Kepler photometry (long cadence).
KEPLER_LONG_CADENCE_DAYS = 29.4244 / 1440.0  # days
KEPLER_FIELD_RA_DEG = 290.6667  # field centre, degrees
KEPLER_FIELD_DEC_DEG = 44.5  # degrees

# --- Power spectrum (paper section 4.2).
PSD_FMIN_UHZ = 2.0  # μHz, first pixel of the native and rebinned grids
PSD_FMAX_UHZ = 270.0  # μHz, upper end of the native Lomb–Scargle grid (≈ Kepler LC Nyquist / 1.05)
PSD_NATIVE_STEP_UHZ = 0.009  # μHz, ≈ 1 / (3.5 yr)
PSD_N_PIXELS = 2092  # pixels of the rebinned, log-spaced grid the network predicts
PSD_FLATTEN_WIDTH_LOG10 = 0.01  # moving-median background width in log10(ν/μHz)
PSD_SMOOTH_SIGMA_UHZ = 0.1  # μHz, Gaussian smoothing before rebinning

# --- APOGEE spectra (DR17 apStar/aspcapStar grid).
APOGEE_N_PIXELS_FULL = 8575
APOGEE_LOG10_LAMBDA0 = 4.179  # log10(λ/Å) of pixel 0, vacuum
APOGEE_DLOG10_LAMBDA = 6e-6  # step in log10(λ/Å)
APOGEE_CHIP_RANGES = ((246, 3274), (3585, 6080), (6344, 8335))  # [start, stop) of the blue, green, red chips
APOGEE_N_PIXELS = 7514  # pixels kept after removing the chip gaps

# --- Survey cuts of the paper (sections 5 and 7.1).
TRAIN_NUMAX_RANGE_UHZ = (4.0, 250.0)
LATENT_LOGG_RANGE = (1.5, 3.6)
LATENT_MIN_SNREV = 30.0
AGE_LOGG_RANGE = (2.5, 3.6)

# --- Galactocentric frame (section 7.1).
R0_KPC = 8.23  # Sun–Galactic-centre distance (Leung et al. 2023)
VSUN_KMS = 249.44  # total azimuthal solar velocity, km/s (Leung et al. 2023)
ZSUN_KPC = 0.0208  # Sun's height above the plane (Bennett & Bovy 2019)
