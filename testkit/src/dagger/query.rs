//! The query text dagger-sdk 0.21.11 sends, parsed into a chain of fields.
//!
//! The SDK's `Selection::build` (src/querybuilder.rs) writes one chain per request:
//! `query{container{from(address:"alpine"){withExec(args:["echo","hi"]){stdout}}}}`,
//! each level selecting exactly one field, arguments serialised by
//! `serde_graphql_input` (strings JSON-escaped, enums as bare words, input objects as
//! `{name:"V",value:"1"}`), object arguments passed as quoted ids, and
//! `… on Container` inline fragments after `node(id:…)` (what `sync()` returns).
//! A small recursive-descent parser covers exactly that subset of GraphQL, plus the
//! ignored tokens (whitespace, commas, `#` comments) any client may add; anything else
//! (several selections at one level, variables, block strings) is a parse error, so a
//! test notices when the pipeline sends something the fake does not understand.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// One field of the chain, e.g. `withExec(args:["go","build"])`.
///
/// An inline fragment `... on Container` is a field named `... on Container` with no
/// arguments (see [`Field::fragment`]); it adds no level to the answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    /// `alias` in `alias:name(…)`: the key of this level in the answer.
    pub alias: Option<String>,
    /// Argument values as JSON: enums become strings, ids stay `"fake-id-N"` strings.
    pub args: BTreeMap<String, Value>,
}

const FRAGMENT: &str = "... on ";

impl Field {
    /// The type condition of an inline fragment (`Container` for `... on Container`).
    pub fn fragment(&self) -> Option<&str> {
        self.name.strip_prefix(FRAGMENT)
    }

    /// The key this field has in the answer: its alias, else its name.
    pub fn key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }

    pub fn arg(&self, name: &str) -> Option<&Value> {
        self.args.get(name)
    }

    /// A string (or enum) argument.
    pub fn arg_str(&self, name: &str) -> Option<&str> {
        self.args.get(name).and_then(Value::as_str)
    }

    /// Every string in this field's arguments, inside lists and input objects too.
    pub fn strings(&self) -> Vec<&str> {
        fn walk<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
            match value {
                Value::String(s) => out.push(s),
                Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
                Value::Object(map) => map.values().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        self.args.values().for_each(|v| walk(v, &mut out));
        out
    }

    /// A list-of-strings argument such as `withExec(args:[…])`; empty when absent.
    pub fn arg_strs(&self, name: &str) -> Vec<&str> {
        self.args
            .get(name)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
}

/// One request's selection chain, outermost field first.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub chain: Vec<Field>,
}

/// Why a query text could not be parsed, at which byte.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for ParseError {}

impl Query {
    pub fn parse(text: &str) -> Result<Query, ParseError> {
        parse_located(text).map(|(query, _)| query)
    }

    /// The first field with this name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.chain.iter().find(|f| f.name == name)
    }

    /// Every field with this name, in chain order.
    pub fn fields(&self, name: &str) -> Vec<&Field> {
        self.chain.iter().filter(|f| f.name == name).collect()
    }

    /// The name of the last field (`stdout`, `id`, `publish`, …).
    pub fn leaf(&self) -> &str {
        self.chain.last().map_or("", |f| f.name.as_str())
    }

    /// Every field's name, in order: a structural view of the chain.
    pub fn names(&self) -> Vec<&str> {
        self.chain.iter().map(|f| f.name.as_str()).collect()
    }

    /// The string argument `arg` of the first field named `field`.
    pub fn arg_str(&self, field: &str, arg: &str) -> Option<&str> {
        self.field(field).and_then(|f| f.arg_str(arg))
    }

    /// The `args` of every `withExec` in this chain (not in chains its ids stand for).
    pub fn execs(&self) -> Vec<Vec<String>> {
        self.fields("withExec")
            .into_iter()
            .map(|f| f.arg_strs("args").into_iter().map(str::to_owned).collect())
            .collect()
    }

    /// Every string argument value anywhere in the chain (inside lists and input
    /// objects too), in chain order: where ids and secrets would show up.
    pub fn strings(&self) -> Vec<&str> {
        self.chain.iter().flat_map(Field::strings).collect()
    }
}

/// A canonical one-line form with arguments sorted by name, for snapshots (the SDK's
/// own argument order changes from run to run):
/// `container.from(address: "alpine").withExec(args: ["echo","hi"]).stdout`.
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, field) in self.chain.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            if let Some(alias) = &field.alias {
                write!(f, "{alias}: ")?;
            }
            f.write_str(&field.name)?;
            if !field.args.is_empty() {
                let args: Vec<String> = field
                    .args
                    .iter()
                    .map(|(name, value)| format!("{name}: {value}"))
                    .collect();
                write!(f, "({})", args.join(", "))?;
            }
        }
        Ok(())
    }
}

/// Parses, and gives each field's (line, column), 1-based, for error `locations`.
pub(super) fn parse_located(text: &str) -> Result<(Query, Vec<(usize, usize)>), ParseError> {
    let mut parser = Parser {
        text,
        pos: 0,
        chain: Vec::new(),
        starts: Vec::new(),
    };
    parser.document()?;
    let locations = parser
        .starts
        .iter()
        .map(|&start| line_column(text, start))
        .collect();
    Ok((
        Query {
            chain: parser.chain,
        },
        locations,
    ))
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    chain: Vec<Field>,
    /// Byte offset of each field in `chain`.
    starts: Vec<usize>,
}

impl<'a> Parser<'a> {
    fn error<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            offset: self.pos,
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    /// Skips GraphQL's ignored tokens: white space, line ends, commas, BOM, comments.
    fn skip(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\n' | '\r' | ',' | '\u{feff}' => self.pos += c.len_utf8(),
                '#' => {
                    let rest = &self.text[self.pos..];
                    self.pos += rest.find('\n').unwrap_or(rest.len());
                }
                _ => break,
            }
        }
    }

    fn expect(&mut self, want: char) -> Result<(), ParseError> {
        self.skip();
        if self.peek() == Some(want) {
            self.pos += 1;
            Ok(())
        } else {
            match self.peek() {
                Some(c) => self.error(format!("expected `{want}`, found `{c}`")),
                None => self.error(format!("expected `{want}`, found the end")),
            }
        }
    }

    fn name(&mut self) -> Result<&'a str, ParseError> {
        self.skip();
        let rest = &self.text[self.pos..];
        let len = rest
            .char_indices()
            .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
            .map_or(rest.len(), |(i, _)| i);
        if len == 0 {
            return self.error("expected a name");
        }
        self.pos += len;
        Ok(&rest[..len])
    }

    fn document(&mut self) -> Result<(), ParseError> {
        self.skip();
        if self.peek() != Some('{') {
            let keyword = self.name()?;
            if keyword != "query" {
                return self.error(format!("expected `query`, found `{keyword}`"));
            }
            self.skip();
            if self.peek().is_some_and(|c| c != '{' && c != '(') {
                self.name()?; // an operation name
                self.skip();
            }
            if self.peek() == Some('(') {
                return self.error("variables are not supported (the SDK inlines arguments)");
            }
        }
        self.selection_set()?;
        self.skip();
        if self.pos < self.text.len() {
            return self.error("unexpected text after the query");
        }
        Ok(())
    }

    fn selection_set(&mut self) -> Result<(), ParseError> {
        self.expect('{')?;
        self.selection()?;
        self.skip();
        if self.peek().is_some_and(|c| c != '}') {
            return self.error(
                "a second selection at one level: the fake engine answers single chains only",
            );
        }
        self.expect('}')
    }

    fn selection(&mut self) -> Result<(), ParseError> {
        self.skip();
        let start = self.pos;
        if self.text[self.pos..].starts_with("...") {
            self.pos += 3;
            if self.name()? != "on" {
                return self.error("expected `on` in an inline fragment");
            }
            let on = self.name()?.to_owned();
            self.push(start, format!("{FRAGMENT}{on}"), None, BTreeMap::new());
            return self.selection_set();
        }
        let mut name = self.name()?.to_owned();
        let mut alias = None;
        self.skip();
        if self.peek() == Some(':') {
            self.pos += 1;
            alias = Some(std::mem::replace(&mut name, self.name()?.to_owned()));
            self.skip();
        }
        let args = if self.peek() == Some('(') {
            self.arguments()?
        } else {
            BTreeMap::new()
        };
        self.push(start, name, alias, args);
        self.skip();
        if self.peek() == Some('{') {
            self.selection_set()?;
        }
        Ok(())
    }

    fn push(
        &mut self,
        start: usize,
        name: String,
        alias: Option<String>,
        args: BTreeMap<String, Value>,
    ) {
        self.chain.push(Field { name, alias, args });
        self.starts.push(start);
    }

    fn arguments(&mut self) -> Result<BTreeMap<String, Value>, ParseError> {
        self.expect('(')?;
        let mut args = BTreeMap::new();
        loop {
            self.skip();
            if self.peek() == Some(')') {
                self.pos += 1;
                return Ok(args);
            }
            let name = self.name()?.to_owned();
            self.expect(':')?;
            let value = self.value()?;
            if args.insert(name.clone(), value).is_some() {
                return self.error(format!("argument `{name}` given twice"));
            }
        }
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        self.skip();
        match self.peek() {
            Some('"') => self.string().map(Value::String),
            Some('[') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip();
                    if self.peek() == Some(']') {
                        self.pos += 1;
                        return Ok(Value::Array(items));
                    }
                    items.push(self.value()?);
                }
            }
            Some('{') => {
                self.pos += 1;
                let mut fields = serde_json::Map::new();
                loop {
                    self.skip();
                    if self.peek() == Some('}') {
                        self.pos += 1;
                        return Ok(Value::Object(fields));
                    }
                    let name = self.name()?.to_owned();
                    self.expect(':')?;
                    let value = self.value()?;
                    fields.insert(name, value);
                }
            }
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some('$') => self.error("variables are not supported (the SDK inlines arguments)"),
            Some(_) => Ok(match self.name()? {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                word => Value::String(word.to_owned()), // an enum value
            }),
            None => self.error("expected a value, found the end"),
        }
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let rest = &self.text[self.pos..];
        let len = rest
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
            .map_or(rest.len(), |(i, _)| i);
        let digits = &rest[..len];
        let value = if let Ok(int) = digits.parse::<i64>() {
            Value::from(int)
        } else if let Some(float) = digits
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            Value::Number(float)
        } else {
            return self.error(format!("bad number `{digits}`"));
        };
        self.pos += len;
        Ok(value)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        if self.text[self.pos..].starts_with("\"\"\"") {
            return self.error("block strings are not supported (the SDK never sends them)");
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return self.error("unterminated string");
            };
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\n' | '\r' => return self.error("line end inside a string"),
                '\\' => out.push(self.escape()?),
                c => out.push(c),
            }
        }
    }

    fn escape(&mut self) -> Result<char, ParseError> {
        let Some(c) = self.peek() else {
            return self.error("unterminated string");
        };
        self.pos += c.len_utf8();
        Ok(match c {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let high = self.hex4()?;
                if (0xD800..0xDC00).contains(&high) && self.text[self.pos..].starts_with("\\u") {
                    self.pos += 2;
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return self.error("bad surrogate pair");
                    }
                    let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                    match char::from_u32(code) {
                        Some(c) => c,
                        None => return self.error("bad surrogate pair"),
                    }
                } else {
                    match char::from_u32(high) {
                        Some(c) => c,
                        None => return self.error("a lone surrogate in \\u"),
                    }
                }
            }
            other => return self.error(format!("unknown escape `\\{other}`")),
        })
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self.text.get(self.pos..self.pos + 4).unwrap_or_default();
        match u32::from_str_radix(digits, 16) {
            Ok(code) if digits.len() == 4 && digits.chars().all(|c| c.is_ascii_hexdigit()) => {
                self.pos += 4;
                Ok(code)
            }
            _ => self.error("expected four hex digits after \\u"),
        }
    }
}
