"""The online spine model: biophysics and estimators with uncertainty."""
