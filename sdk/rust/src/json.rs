//! A minimal JSON parser and writer, and the traits that map Rust types to JSON values and
//! JSON Schemas. It stands in for serde, which a plugin cannot fetch offline: it is made
//! for the envelopes the host sends (well-formed JSON already checked against the
//! manifest), not as a general-purpose JSON library.

/// A parsed JSON value. A number keeps its text, so integers of any size read exactly.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Value>),
    /// Members in document order.
    Object(Vec<(String, Value)>),
}

/// How deep arrays and objects may nest before parsing gives up.
const MAX_DEPTH: usize = 128;

impl Value {
    /// Parses a JSON document.
    pub fn parse(text: &str) -> Result<Value, String> {
        let mut p = Parser { s: text.as_bytes(), i: 0 };
        let v = p.value(0)?;
        p.ws();
        if p.i != p.s.len() {
            return Err(p.error("end of input"));
        }
        Ok(v)
    }

    /// Returns the member `name` of an object, or None.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn error(&self, want: &str) -> String {
        format!("invalid JSON at byte {}: want {}", self.i, want)
    }

    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        let ok = self.s.get(self.i) == Some(&b);
        if ok {
            self.i += 1;
        }
        ok
    }

    fn word(&mut self, word: &str, v: Value) -> Result<Value, String> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.error(word))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(self.error("less nesting"));
        }
        self.ws();
        match self.s.get(self.i) {
            Some(b'n') => self.word("null", Value::Null),
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.error("',' or ']'"));
                        }
                    }
                }
                Ok(Value::Array(items))
            }
            Some(b'{') => {
                self.i += 1;
                let mut members = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        let name = self.string()?;
                        if !self.eat(b':') {
                            return Err(self.error("':'"));
                        }
                        members.push((name, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.error("',' or '}'"));
                        }
                    }
                }
                Ok(Value::Object(members))
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                while matches!(self.s.get(self.i), Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
                    self.i += 1;
                }
                // The input is a &str and a number is ASCII, so this cannot fail.
                Ok(Value::Number(String::from_utf8_lossy(&self.s[start..self.i]).into_owned()))
            }
            _ => Err(self.error("a value")),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        if self.s.get(self.i) != Some(&b'"') {
            return Err(self.error("a string"));
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.s.get(self.i) {
                None => return Err(self.error("'\"'")),
                Some(b'"') => break,
                Some(b'\\') => {
                    self.i += 1;
                    let c = match self.s.get(self.i) {
                        Some(b'u') => {
                            let c = self.unicode_escape()?;
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                            continue;
                        }
                        Some(b'b') => b'\x08',
                        Some(b'f') => b'\x0c',
                        Some(b'n') => b'\n',
                        Some(b'r') => b'\r',
                        Some(b't') => b'\t',
                        Some(&c @ (b'"' | b'\\' | b'/')) => c,
                        _ => return Err(self.error("an escape")),
                    };
                    out.push(c);
                    self.i += 1;
                }
                Some(&c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        self.i += 1;
        // Only whole UTF-8 sequences were copied or written, so this cannot fail.
        String::from_utf8(out).map_err(|e| e.to_string())
    }

    /// Reads the XXXX of \uXXXX at self.i (on the u), and the low half of a surrogate pair.
    fn unicode_escape(&mut self) -> Result<char, String> {
        let high = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&high) && self.s[self.i..].starts_with(b"\\u") {
            self.i += 1;
            let start = self.i;
            match self.hex4()? {
                low @ 0xdc00..=0xdfff => 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00),
                _ => {
                    self.i = start - 1; // not a pair: leave the second escape for later
                    high
                }
            }
        } else {
            high
        };
        Ok(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.s.get(self.i + 1..self.i + 5).ok_or_else(|| self.error("4 hex digits"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.error("4 hex digits"))?;
        let v = u32::from_str_radix(text, 16).map_err(|_| self.error("4 hex digits"))?;
        self.i += 5;
        Ok(v)
    }
}

/// Appends s to out as a JSON string, quotes included.
pub fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A type read from a JSON value: a call's parameter or a record's field.
pub trait FromJson: Sized {
    /// Whether a parameter or field of this type may be left out (true for Option).
    const OPTIONAL: bool = false;

    /// Reads the value.
    fn from_json(v: &Value) -> Result<Self, String>;

    /// The value of a parameter or field that was left out.
    fn missing() -> Result<Self, String> {
        Err("is missing".into())
    }
}

/// A type written as a JSON value: a follow-up's argument or a record's field.
pub trait ToJson {
    /// Appends the value's JSON text to out.
    fn write_json(&self, out: &mut String);

    /// Whether a record leaves this field out (a None Option) instead of writing it.
    fn is_absent(&self) -> bool {
        false
    }
}

/// A type whose values a JSON Schema describes, for the manifest.
pub trait ToSchema {
    /// The JSON Schema, as JSON text.
    fn schema() -> String;
}

fn mismatch<T>(want: &str, got: &Value) -> Result<T, String> {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    Err(format!("want {}, got {}", want, kind))
}

impl FromJson for String {
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            _ => mismatch("a string", v),
        }
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut String) {
        quote(self, out);
    }
}

impl ToJson for &str {
    fn write_json(&self, out: &mut String) {
        quote(self, out);
    }
}

impl ToSchema for String {
    fn schema() -> String {
        r#"{"type": "string"}"#.into()
    }
}

impl FromJson for bool {
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::Bool(b) => Ok(*b),
            _ => mismatch("a boolean", v),
        }
    }
}

impl ToJson for bool {
    fn write_json(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl ToSchema for bool {
    fn schema() -> String {
        r#"{"type": "boolean"}"#.into()
    }
}

macro_rules! integers {
    ($($t:ty)*) => {$(
        impl FromJson for $t {
            fn from_json(v: &Value) -> Result<Self, String> {
                let text = match v {
                    Value::Number(text) => text,
                    _ => return mismatch("an integer", v),
                };
                if let Ok(n) = text.parse::<$t>() {
                    return Ok(n);
                }
                // JSON Schema counts 3.0 as an integer.
                match text.parse::<f64>() {
                    Ok(f) if f.fract() == 0.0 && f >= <$t>::MIN as f64 && f <= <$t>::MAX as f64 => Ok(f as $t),
                    _ => Err(format!("want an integer from {} to {}, got {}", <$t>::MIN, <$t>::MAX, text)),
                }
            }
        }

        impl ToJson for $t {
            fn write_json(&self, out: &mut String) {
                out.push_str(&self.to_string());
            }
        }

        impl ToSchema for $t {
            fn schema() -> String {
                match (<$t>::BITS, <$t>::MIN) {
                    (64, 0) => r#"{"type": "integer", "minimum": 0}"#.into(),
                    (64, _) => r#"{"type": "integer"}"#.into(),
                    _ => format!(r#"{{"type": "integer", "minimum": {}, "maximum": {}}}"#, <$t>::MIN, <$t>::MAX),
                }
            }
        }
    )*};
}

integers!(i8 i16 i32 i64 u8 u16 u32 u64);

macro_rules! floats {
    ($($t:ty)*) => {$(
        impl FromJson for $t {
            fn from_json(v: &Value) -> Result<Self, String> {
                match v {
                    Value::Number(text) => text.parse().map_err(|_| format!("want a number, got {}", text)),
                    _ => mismatch("a number", v),
                }
            }
        }

        impl ToJson for $t {
            fn write_json(&self, out: &mut String) {
                if self.is_finite() {
                    out.push_str(&self.to_string());
                } else {
                    out.push_str("null"); // JSON has no NaN or infinity
                }
            }
        }

        impl ToSchema for $t {
            fn schema() -> String {
                r#"{"type": "number"}"#.into()
            }
        }
    )*};
}

floats!(f32 f64);

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| T::from_json(item).map_err(|e| format!("[{}]: {}", i, e)))
                .collect(),
            _ => mismatch("an array", v),
        }
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item.write_json(out);
        }
        out.push(']');
    }
}

impl<T: ToSchema> ToSchema for Vec<T> {
    fn schema() -> String {
        format!(r#"{{"type": "array", "items": {}}}"#, T::schema())
    }
}

impl<T: FromJson> FromJson for Option<T> {
    const OPTIONAL: bool = true;

    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            _ => T::from_json(v).map(Some),
        }
    }

    fn missing() -> Result<Self, String> {
        Ok(None)
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, out: &mut String) {
        match self {
            Some(v) => v.write_json(out),
            None => out.push_str("null"),
        }
    }

    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

/// An Option's schema is its content's: optional means "may be left out", not "null".
impl<T: ToSchema> ToSchema for Option<T> {
    fn schema() -> String {
        T::schema()
    }
}

/// Reads the member `name` of an object as a T, naming it in the error.
pub fn member<T: FromJson>(object: &Value, name: &str) -> Result<T, String> {
    match object.get(name) {
        Some(v) => T::from_json(v),
        None => T::missing(),
    }
    .map_err(|e| format!("{}: {}", name, e))
}

/// Writes a JSON object member by member, leaving absent ones out.
pub struct ObjectWriter<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    /// Starts an object in out.
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        ObjectWriter { out, first: true }
    }

    /// Writes the member name: value, unless value is absent.
    pub fn member<T: ToJson + ?Sized>(&mut self, name: &str, value: &T) {
        if value.is_absent() {
            return;
        }
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        quote(name, self.out);
        self.out.push(':');
        value.write_json(self.out);
    }

    /// Ends the object.
    pub fn end(self) {
        self.out.push('}');
    }
}

/// Returns the JSON object that write writes member by member.
pub(crate) fn object(write: impl FnOnce(&mut ObjectWriter)) -> String {
    let mut out = String::new();
    let mut w = ObjectWriter::new(&mut out);
    write(&mut w);
    w.end();
    out
}

/// Returns the JSON array of items, JSON texts.
pub(crate) fn array(items: impl Iterator<Item = String>) -> Raw {
    Raw(format!("[{}]", items.collect::<Vec<_>>().join(",")))
}

/// JSON text, written as it is.
pub(crate) struct Raw(pub(crate) String);

impl ToJson for Raw {
    fn write_json(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

/// The schema of a record: an object with these (name, schema, optional) properties and no
/// others.
pub fn object_schema(fields: &[(&str, String, bool)]) -> String {
    let mut out = String::from(r#"{"type": "object", "properties": {"#);
    for (i, (name, schema, _)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        quote(name, &mut out);
        out.push_str(": ");
        out.push_str(schema);
    }
    out.push_str(r#"}, "required": ["#);
    let required: Vec<String> = fields
        .iter()
        .filter(|(_, _, optional)| !optional)
        .map(|(name, _, _)| {
            let mut q = String::new();
            quote(name, &mut q);
            q
        })
        .collect();
    out.push_str(&required.join(", "));
    out.push_str(r#"], "additionalProperties": false}"#);
    out
}
