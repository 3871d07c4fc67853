"""Unit conversion for values read from the record into the units a calculator expects.

Conversion factors (for demonstration and education, not clinical use):

- urea mmol/L to blood urea nitrogen (BUN) mg/dL: x 2.801 (urea nitrogen 28.014 g/mol, per
  10 dL); urea mg/dL to BUN mg/dL: x 0.4665 (28.014 / 60.06);
- creatinine umol/L to mg/dL: / 88.42 (113.12 g/mol);
- bilirubin umol/L to mg/dL: / 17.1 (584.66 g/mol);
- glucose mmol/L to mg/dL: x 18.016 (180.16 g/mol);
- calcium mmol/L to mg/dL: x 4.008 (40.08 g/mol);
- albumin and haemoglobin g/L to g/dL: / 10;
- temperature degrees Fahrenheit to Celsius: (F - 32) x 5 / 9.

Source: the SI-to-conventional factors in the AMA Manual of Style, 11th edition (2020),
section 17.5 "Units of Measure" (molar masses as above).
"""

from __future__ import annotations

from collections.abc import Callable

_ALIASES = {
    "cel": "c",
    "°c": "c",
    "degc": "c",
    "[degf]": "f",
    "°f": "f",
    "degf": "f",
    "/min": "/min",
    "beats/min": "/min",
    "{beats}/min": "/min",
    "breaths/min": "/min",
    "{breaths}/min": "/min",
    "mm[hg]": "mmhg",
    "10*3/ul": "10^3/ul",
    "10^9/l": "10^3/ul",
    "10*9/l": "10^3/ul",
    "k/ul": "10^3/ul",
    "{inr}": "",
    "ratio": "",
    "iu/l": "u/l",
    "[iu]/l": "u/l",
    "kg": "kg",
    "[lb_av]": "lb",
    "lbs": "lb",
    "[in_i]": "in",
    "meq/l": "mmol/l",
}


class UnitError(ValueError):
    """A value whose unit cannot be converted to the unit a calculator expects."""


def normalise_unit(unit: str) -> str:
    """``µmol/L`` -> ``umol/l``; ``Cel`` and ``°C`` -> ``c``; ``mm[Hg]`` -> ``mmhg``."""
    value = unit.strip().lower().replace("µ", "u").replace("μ", "u").replace(" ", "")
    return _ALIASES.get(value, value)


Convert = Callable[[float], float]

_FACTORS: dict[tuple[str, str, str], Convert] = {
    # (quantity, from unit, to unit)
    ("urea", "mmol/l", "mg/dl"): lambda v: v * 2.801,
    ("urea", "mg/dl", "mg/dl"): lambda v: v * 0.4665,
    ("creatinine", "umol/l", "mg/dl"): lambda v: v / 88.42,
    ("bilirubin", "umol/l", "mg/dl"): lambda v: v / 17.1,
    ("glucose", "mmol/l", "mg/dl"): lambda v: v * 18.016,
    ("calcium", "mmol/l", "mg/dl"): lambda v: v * 4.008,
    ("albumin", "g/l", "g/dl"): lambda v: v / 10,
    ("hemoglobin", "g/l", "g/dl"): lambda v: v / 10,
    ("temperature", "f", "c"): lambda v: (v - 32) * 5 / 9,
    ("weight", "lb", "kg"): lambda v: v * 0.45359237,
    ("height", "in", "cm"): lambda v: v * 2.54,
    ("height", "m", "cm"): lambda v: v * 100,
    ("white cell count", "10^3/ul", "/ul"): lambda v: v * 1000,
}


def convert(quantity: str, value: float, unit: str, target: str, *, as_urea: bool = False) -> float:
    """``value`` in ``unit`` expressed in ``target``; ``as_urea`` marks a urea (not BUN) result.

    Raises :class:`UnitError` naming both units when no conversion is known.
    """
    have, want = normalise_unit(unit), normalise_unit(target)
    key = "urea" if as_urea else quantity
    if have == want and not as_urea:
        return value
    factor = _FACTORS.get((key, have, want))
    if factor is None:
        raise UnitError(f"cannot convert {quantity} from {unit or 'no unit'} to {target}")
    return factor(value)
