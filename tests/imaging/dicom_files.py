"""Re-export of :mod:`testing.dicom` for the tests that import it from here."""

from testing.dicom import (
    FAKE_PATIENT,
    FAKE_PATIENT_ID,
    colour_file,
    ct_file,
    mono_file,
    no_pixels_file,
    phantom_hu,
)

__all__ = [
    "FAKE_PATIENT",
    "FAKE_PATIENT_ID",
    "colour_file",
    "ct_file",
    "mono_file",
    "no_pixels_file",
    "phantom_hu",
]
