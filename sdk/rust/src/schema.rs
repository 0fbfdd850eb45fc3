//! JSON Schemas of parameter types, stated beside the types.
//!
//! No maintained crate that derives JSON Schema (schemars) is packaged by Debian, so a
//! plugin cannot fetch one offline. A record states its schema with [`record`] next to
//! its serde derive instead; the host checks every call against it when the call is
//! scheduled, so a schema that does not fit the type shows up then, and the conformance
//! tests compare it with what the type reads.

use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

/// A type that can be a parameter (or a record field) of a future call: its JSON Schema.
/// Implemented for the strings, booleans, integers and floats, `Vec`, `Option`, maps with
/// string keys and [`Value`](crate::Value) (any JSON); implement it for your own records with
/// [`record`] and for string enums with [`string_enum`].
pub trait Schema {
    /// Whether a value may be left out: true for `Option` only.
    const OPTIONAL: bool = false;

    /// The type's JSON Schema (draft 2020-12).
    fn schema() -> Value;
}

macro_rules! schema {
    ($($type:ty => $schema:expr),* $(,)?) => {
        $(impl Schema for $type {
            fn schema() -> Value {
                $schema
            }
        })*
    };
}

schema! {
    String => json!({"type": "string"}),
    bool => json!({"type": "boolean"}),
    f32 => json!({"type": "number"}),
    f64 => json!({"type": "number"}),
    i64 => json!({"type": "integer"}),
    u64 => json!({"type": "integer", "minimum": 0}),
    i8 => json!({"type": "integer", "minimum": i8::MIN, "maximum": i8::MAX}),
    i16 => json!({"type": "integer", "minimum": i16::MIN, "maximum": i16::MAX}),
    i32 => json!({"type": "integer", "minimum": i32::MIN, "maximum": i32::MAX}),
    u8 => json!({"type": "integer", "minimum": 0, "maximum": u8::MAX}),
    u16 => json!({"type": "integer", "minimum": 0, "maximum": u16::MAX}),
    u32 => json!({"type": "integer", "minimum": 0, "maximum": u32::MAX}),
    Value => json!({}),
}

impl<T: Schema> Schema for Vec<T> {
    fn schema() -> Value {
        json!({"type": "array", "items": T::schema()})
    }
}

/// An optional parameter or field: the caller may leave it out. Its schema is T's; a
/// record field also accepts null ([`Record::field`]), as serde does.
impl<T: Schema> Schema for Option<T> {
    const OPTIONAL: bool = true;

    fn schema() -> Value {
        T::schema()
    }
}

impl<T: Schema> Schema for BTreeMap<String, T> {
    fn schema() -> Value {
        json!({"type": "object", "additionalProperties": T::schema()})
    }
}

impl<T: Schema, S> Schema for HashMap<String, T, S> {
    fn schema() -> Value {
        json!({"type": "object", "additionalProperties": T::schema()})
    }
}

/// The schema of a string enumeration: a unit enum that serde writes as its variants'
/// names (or their `#[serde(rename)]`s).
///
/// ```
/// # use futurecalls::{string_enum, Schema};
/// #[derive(serde::Deserialize)]
/// #[serde(rename_all = "lowercase")]
/// enum Plan { Free, Pro }
///
/// impl Schema for Plan {
///     fn schema() -> futurecalls::Value {
///         string_enum(&["free", "pro"])
///     }
/// }
/// ```
pub fn string_enum(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

/// Starts the schema of a record: a JSON object with the properties its fields add, every
/// non-`Option` field required, no other properties.
///
/// ```
/// # use futurecalls::{record, Schema};
/// #[derive(serde::Deserialize)]
/// #[serde(rename_all = "camelCase", deny_unknown_fields)]
/// struct Order { order_id: i64, items: Vec<String>, express: Option<bool> }
///
/// impl Schema for Order {
///     fn schema() -> futurecalls::Value {
///         record()
///             .description("An order to ship.")
///             .field::<i64>("orderId")
///             .field::<Vec<String>>("items")
///             .described::<Option<bool>>("express", "Ship overnight.")
///             .into()
///     }
/// }
/// ```
pub fn record() -> Record {
    Record::default()
}

/// A record's schema as [`record`] builds it. `.into()` makes it a `Value`.
#[derive(Debug, Clone, Default)]
pub struct Record {
    description: Option<String>,
    properties: Map<String, Value>,
    required: Vec<Value>,
}

impl Record {
    /// Describes the record.
    pub fn description(mut self, text: &str) -> Self {
        self.description = Some(text.into());
        self
    }

    /// Adds the field name (its JSON name, as serde writes it) of type T. An `Option`
    /// field may be left out or null; any other is required.
    pub fn field<T: Schema>(mut self, name: &str) -> Self {
        let schema = if T::OPTIONAL {
            json!({"anyOf": [T::schema(), {"type": "null"}]})
        } else {
            self.required.push(name.into());
            T::schema()
        };
        self.properties.insert(name.into(), schema);
        self
    }

    /// Adds a field as [`Record::field`] does, with a description.
    pub fn described<T: Schema>(self, name: &str, description: &str) -> Self {
        let mut record = self.field::<T>(name);
        if let Some(Value::Object(schema)) = record.properties.get_mut(name) {
            schema.insert("description".into(), description.into());
        }
        record
    }
}

impl From<Record> for Value {
    fn from(r: Record) -> Value {
        let mut schema = json!({
            "type": "object",
            "properties": r.properties,
            "required": r.required,
            "additionalProperties": false,
        });
        if let Some(description) = r.description {
            schema["description"] = description.into();
        }
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Carrier {
        Post,
        Courier,
    }

    impl Schema for Carrier {
        fn schema() -> Value {
            string_enum(&["post", "courier"])
        }
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Order {
        order_id: i64,
        items: Vec<String>,
        carrier: Carrier,
        express: Option<bool>,
    }

    impl Schema for Order {
        fn schema() -> Value {
            record()
                .description("An order.")
                .field::<i64>("orderId")
                .field::<Vec<String>>("items")
                .field::<Carrier>("carrier")
                .described::<Option<bool>>("express", "Ship overnight.")
                .into()
        }
    }

    #[test]
    fn record_schema_lists_fields_and_requires_all_but_options() {
        assert_eq!(
            Order::schema(),
            json!({
                "type": "object",
                "description": "An order.",
                "properties": {
                    "orderId": {"type": "integer"},
                    "items": {"type": "array", "items": {"type": "string"}},
                    "carrier": {"type": "string", "enum": ["post", "courier"]},
                    "express": {"anyOf": [{"type": "boolean"}, {"type": "null"}], "description": "Ship overnight."},
                },
                "required": ["orderId", "items", "carrier"],
                "additionalProperties": false,
            })
        );
    }

    /// An Option field may be null or left out, in the schema as in serde.
    #[test]
    fn optional_field_reads_null_and_absence() {
        for text in [
            r#"{"orderId": 7, "items": [], "carrier": "post", "express": null}"#,
            r#"{"orderId": 7, "items": [], "carrier": "post"}"#,
        ] {
            let order: Order = serde_json::from_str(text).unwrap();
            assert_eq!(order.express, None, "{}", text);
        }
    }

    #[test]
    fn optional_parameter_has_its_inner_schema() {
        assert!(<Option<u32> as Schema>::OPTIONAL);
        assert_eq!(
            <Option<u32> as Schema>::schema(),
            json!({"type": "integer", "minimum": 0, "maximum": 4294967295u32})
        );
    }
}
