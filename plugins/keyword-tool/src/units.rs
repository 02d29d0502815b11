//! `convert_units`: converts between units of one physical quantity.

use serde::Deserialize;
use serde_json::{Value, json};

/// The tool's input schema.
pub const SCHEMA: &str = r#"{
  "type": "object",
  "properties": {
    "value": {"type": "number", "description": "The amount to convert."},
    "from": {"type": "string", "description": "The unit of `value`, e.g. km, mi, kg, lb, C, F, K, l, gal, h, mph, GB, GiB."},
    "to": {"type": "string", "description": "The unit to convert to, of the same quantity."}
  },
  "required": ["value", "from", "to"],
  "additionalProperties": false
}"#;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    value: f64,
    from: String,
    to: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quantity {
    Length,
    Mass,
    Temperature,
    Volume,
    Time,
    Speed,
    Data,
}

impl Quantity {
    fn name(self) -> &'static str {
        match self {
            Quantity::Length => "length",
            Quantity::Mass => "mass",
            Quantity::Temperature => "temperature",
            Quantity::Volume => "volume",
            Quantity::Time => "time",
            Quantity::Speed => "speed",
            Quantity::Data => "data",
        }
    }
}

/// A unit: its quantity and its size in the quantity's base unit (metre, kilogram, kelvin
/// handled apart, litre, second, metre per second, byte).
struct Unit {
    names: &'static [&'static str],
    quantity: Quantity,
    factor: f64,
}

const UNITS: &[Unit] = &[
    Unit {
        names: &["m", "meter", "meters", "metre", "metres"],
        quantity: Quantity::Length,
        factor: 1.0,
    },
    Unit {
        names: &["km", "kilometer", "kilometers", "kilometre", "kilometres"],
        quantity: Quantity::Length,
        factor: 1000.0,
    },
    Unit {
        names: &[
            "cm",
            "centimeter",
            "centimeters",
            "centimetre",
            "centimetres",
        ],
        quantity: Quantity::Length,
        factor: 0.01,
    },
    Unit {
        names: &[
            "mm",
            "millimeter",
            "millimeters",
            "millimetre",
            "millimetres",
        ],
        quantity: Quantity::Length,
        factor: 0.001,
    },
    Unit {
        names: &["mi", "mile", "miles"],
        quantity: Quantity::Length,
        factor: 1609.344,
    },
    Unit {
        names: &["yd", "yard", "yards"],
        quantity: Quantity::Length,
        factor: 0.9144,
    },
    Unit {
        names: &["ft", "foot", "feet"],
        quantity: Quantity::Length,
        factor: 0.3048,
    },
    Unit {
        names: &["in", "inch", "inches"],
        quantity: Quantity::Length,
        factor: 0.0254,
    },
    Unit {
        names: &["nmi", "nautical mile", "nautical miles"],
        quantity: Quantity::Length,
        factor: 1852.0,
    },
    Unit {
        names: &["kg", "kilogram", "kilograms"],
        quantity: Quantity::Mass,
        factor: 1.0,
    },
    Unit {
        names: &["g", "gram", "grams"],
        quantity: Quantity::Mass,
        factor: 0.001,
    },
    Unit {
        names: &["mg", "milligram", "milligrams"],
        quantity: Quantity::Mass,
        factor: 1e-6,
    },
    Unit {
        names: &["t", "tonne", "tonnes", "metric ton"],
        quantity: Quantity::Mass,
        factor: 1000.0,
    },
    Unit {
        names: &["lb", "lbs", "pound", "pounds"],
        quantity: Quantity::Mass,
        factor: 0.453_592_37,
    },
    Unit {
        names: &["oz", "ounce", "ounces"],
        quantity: Quantity::Mass,
        factor: 0.028_349_523_125,
    },
    Unit {
        names: &["st", "stone", "stones"],
        quantity: Quantity::Mass,
        factor: 6.350_293_18,
    },
    Unit {
        names: &["c", "°c", "celsius"],
        quantity: Quantity::Temperature,
        factor: 0.0,
    },
    Unit {
        names: &["f", "°f", "fahrenheit"],
        quantity: Quantity::Temperature,
        factor: 0.0,
    },
    Unit {
        names: &["k", "kelvin"],
        quantity: Quantity::Temperature,
        factor: 0.0,
    },
    Unit {
        names: &["l", "liter", "liters", "litre", "litres"],
        quantity: Quantity::Volume,
        factor: 1.0,
    },
    Unit {
        names: &[
            "ml",
            "milliliter",
            "milliliters",
            "millilitre",
            "millilitres",
        ],
        quantity: Quantity::Volume,
        factor: 0.001,
    },
    Unit {
        names: &["m3", "m³", "cubic meter", "cubic metre"],
        quantity: Quantity::Volume,
        factor: 1000.0,
    },
    Unit {
        names: &["gal", "gallon", "gallons"],
        quantity: Quantity::Volume,
        factor: 3.785_411_784,
    },
    Unit {
        names: &["qt", "quart", "quarts"],
        quantity: Quantity::Volume,
        factor: 0.946_352_946,
    },
    Unit {
        names: &["pt", "pint", "pints"],
        quantity: Quantity::Volume,
        factor: 0.473_176_473,
    },
    Unit {
        names: &["cup", "cups"],
        quantity: Quantity::Volume,
        factor: 0.236_588_236_5,
    },
    Unit {
        names: &["floz", "fl oz", "fluid ounce", "fluid ounces"],
        quantity: Quantity::Volume,
        factor: 0.029_573_529_562_5,
    },
    Unit {
        names: &["s", "sec", "second", "seconds"],
        quantity: Quantity::Time,
        factor: 1.0,
    },
    Unit {
        names: &["ms", "millisecond", "milliseconds"],
        quantity: Quantity::Time,
        factor: 0.001,
    },
    Unit {
        names: &["min", "minute", "minutes"],
        quantity: Quantity::Time,
        factor: 60.0,
    },
    Unit {
        names: &["h", "hr", "hour", "hours"],
        quantity: Quantity::Time,
        factor: 3600.0,
    },
    Unit {
        names: &["d", "day", "days"],
        quantity: Quantity::Time,
        factor: 86_400.0,
    },
    Unit {
        names: &["wk", "week", "weeks"],
        quantity: Quantity::Time,
        factor: 604_800.0,
    },
    Unit {
        names: &["m/s", "mps", "meters per second"],
        quantity: Quantity::Speed,
        factor: 1.0,
    },
    Unit {
        names: &["km/h", "kph", "kmh", "kilometers per hour"],
        quantity: Quantity::Speed,
        factor: 1000.0 / 3600.0,
    },
    Unit {
        names: &["mph", "miles per hour"],
        quantity: Quantity::Speed,
        factor: 1609.344 / 3600.0,
    },
    Unit {
        names: &["kn", "kt", "knot", "knots"],
        quantity: Quantity::Speed,
        factor: 1852.0 / 3600.0,
    },
    Unit {
        names: &["ft/s", "fps"],
        quantity: Quantity::Speed,
        factor: 0.3048,
    },
    Unit {
        names: &["bit", "bits"],
        quantity: Quantity::Data,
        factor: 0.125,
    },
    Unit {
        names: &["b", "byte", "bytes"],
        quantity: Quantity::Data,
        factor: 1.0,
    },
    Unit {
        names: &["kb", "kilobyte", "kilobytes"],
        quantity: Quantity::Data,
        factor: 1e3,
    },
    Unit {
        names: &["mb", "megabyte", "megabytes"],
        quantity: Quantity::Data,
        factor: 1e6,
    },
    Unit {
        names: &["gb", "gigabyte", "gigabytes"],
        quantity: Quantity::Data,
        factor: 1e9,
    },
    Unit {
        names: &["tb", "terabyte", "terabytes"],
        quantity: Quantity::Data,
        factor: 1e12,
    },
    Unit {
        names: &["kib", "kibibyte", "kibibytes"],
        quantity: Quantity::Data,
        factor: 1024.0,
    },
    Unit {
        names: &["mib", "mebibyte", "mebibytes"],
        quantity: Quantity::Data,
        factor: 1_048_576.0,
    },
    Unit {
        names: &["gib", "gibibyte", "gibibytes"],
        quantity: Quantity::Data,
        factor: 1_073_741_824.0,
    },
    Unit {
        names: &["tib", "tebibyte", "tebibytes"],
        quantity: Quantity::Data,
        factor: 1_099_511_627_776.0,
    },
];

fn unit(name: &str) -> Result<&'static Unit, String> {
    let wanted = name.trim().to_lowercase();
    UNITS
        .iter()
        .find(|u| u.names.contains(&wanted.as_str()))
        .ok_or_else(|| format!("unknown unit `{name}`"))
}

fn to_kelvin(value: f64, unit: &Unit) -> f64 {
    match unit.names[0] {
        "c" => value + 273.15,
        "f" => (value - 32.0) * 5.0 / 9.0 + 273.15,
        _ => value,
    }
}

fn from_kelvin(kelvin: f64, unit: &Unit) -> f64 {
    match unit.names[0] {
        "c" => kelvin - 273.15,
        "f" => (kelvin - 273.15) * 9.0 / 5.0 + 32.0,
        _ => kelvin,
    }
}

/// Runs the tool.
pub fn run(input: Input) -> Result<Value, String> {
    if !input.value.is_finite() {
        return Err("value must be a finite number".into());
    }
    let from = unit(&input.from)?;
    let to = unit(&input.to)?;
    if from.quantity != to.quantity {
        return Err(format!(
            "cannot convert {} ({}) to {} ({})",
            input.from,
            from.quantity.name(),
            input.to,
            to.quantity.name()
        ));
    }
    let result = if from.quantity == Quantity::Temperature {
        let kelvin = to_kelvin(input.value, from);
        if kelvin < 0.0 {
            return Err("temperature below absolute zero".into());
        }
        from_kelvin(kelvin, to)
    } else {
        input.value * from.factor / to.factor
    };
    // Twelve significant digits: enough for any use, and no 211.99999999999997.
    let rounded = if result == 0.0 {
        0.0
    } else {
        let scale = 10f64.powi(11 - result.abs().log10().floor() as i32);
        (result * scale).round() / scale
    };
    Ok(json!({
        "value": input.value,
        "from": input.from,
        "to": input.to,
        "result": rounded,
        "category": from.quantity.name(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(value: f64, from: &str, to: &str) -> Result<f64, String> {
        run(Input {
            value,
            from: from.into(),
            to: to.into(),
        })
        .map(|v| v["result"].as_f64().unwrap())
    }

    #[test]
    fn conversions() {
        assert_eq!(convert(1.0, "mi", "km").unwrap(), 1.609344);
        assert_eq!(convert(100.0, "C", "F").unwrap(), 212.0);
        assert_eq!(convert(32.0, "fahrenheit", "celsius").unwrap(), 0.0);
        assert_eq!(convert(0.0, "K", "C").unwrap(), -273.15);
        assert_eq!(convert(1.0, "GiB", "MiB").unwrap(), 1024.0);
        assert_eq!(convert(8.0, "bits", "B").unwrap(), 1.0);
        assert_eq!(convert(1.0, "lb", "oz").unwrap(), 16.0);
        assert_eq!(convert(60.0, "mph", "km/h").unwrap(), 96.56064);
        assert_eq!(convert(1.0, "gal", "L").unwrap(), 3.785411784);
        assert_eq!(convert(2.5, "hours", "min").unwrap(), 150.0);
    }

    #[test]
    fn errors() {
        assert!(
            convert(1.0, "kg", "m")
                .unwrap_err()
                .contains("cannot convert")
        );
        assert!(
            convert(1.0, "parsec", "m")
                .unwrap_err()
                .contains("unknown unit `parsec`")
        );
        assert!(
            convert(-500.0, "C", "K")
                .unwrap_err()
                .contains("absolute zero")
        );
    }
}
