//! A small, strict TOML reader for the layout file: every value keeps the line it starts on, so
//! that the layout checker can name the line of each problem.
//!
//! Supported: comments, `key = value` with bare or quoted keys, `[table]` and `[[array-of-tables]]`
//! headers with a single key, basic ("...") and literal ('...') single-line strings, integers
//! (decimal, `0x`, `0o`, `0b`, `_` separators), floats (including `inf` and `nan`), booleans,
//! arrays (over several lines, trailing comma allowed) and single-line inline tables.
//! Not supported (rejected with a message): dotted keys and table names, multi-line strings,
//! dates and times. The parser is written to be included both by build.rs and by the host tests.

/// A parsed value and the 1-based line where it starts.
#[derive(Debug, Clone)]
pub struct Item {
    pub value: Value,
    pub line: usize,
}

/// A TOML value.
#[derive(Debug, Clone)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Array(Vec<Item>),
    Table(Table),
}

impl Value {
    /// The TOML name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Bool(_) => "a boolean",
            Value::Array(_) => "an array",
            Value::Table(_) => "a table",
        }
    }
}

/// A table: its entries in file order, each `(key, line of the key, value)`.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub entries: Vec<(String, usize, Item)>,
    /// The line of the header (`[name]`, `[[name]]`, `{`); 1 for the root table.
    pub line: usize,
    /// Tables written as `[name]` header may not be written twice; arrays of tables may.
    header: bool,
}

impl Table {
    /// The entry for `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Item> {
        self.entries.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v)
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Item> {
        self.entries.iter_mut().find(|(k, _, _)| k == key).map(|(_, _, v)| v)
    }

    fn insert(&mut self, key: String, line: usize, item: Item) -> Result<(), (usize, String)> {
        if let Some((_, first, _)) = self.entries.iter().find(|(k, _, _)| *k == key) {
            return Err((line, format!("duplicate key `{key}` (first defined on line {first})")));
        }
        self.entries.push((key, line, item));
        Ok(())
    }
}

/// A parse error: 1-based line and message.
pub type ParseError = (usize, String);

/// Parses a whole document into its root table.
pub fn parse(text: &str) -> Result<Table, ParseError> {
    let mut p = Parser { chars: text.chars().collect(), pos: 0, line: 1 };
    let mut root = Table { line: 1, ..Table::default() };
    // Path of the table that `key = value` lines currently go to: None = root;
    // Some((name, is_array)) = `[name]` or the last element of `[[name]]`.
    let mut current: Option<(String, bool)> = None;
    loop {
        p.skip_ws_comments_newlines()?;
        let Some(c) = p.peek() else { break };
        let line = p.line;
        if c == '[' {
            p.pos += 1;
            let array = p.peek() == Some('[');
            if array {
                p.pos += 1;
            }
            p.skip_ws();
            let name = p.key()?;
            p.skip_ws();
            if p.peek() == Some('.') {
                return Err((
                    line,
                    "dotted table names are not supported in the layout file".into(),
                ));
            }
            p.expect(']')?;
            if array {
                p.expect(']')?;
            }
            p.end_of_line()?;
            if array {
                let table = Table { line, header: true, ..Table::default() };
                match root.get_mut(&name) {
                    None => root.insert(
                        name.clone(),
                        line,
                        Item {
                            value: Value::Array(vec![Item { value: Value::Table(table), line }]),
                            line,
                        },
                    )?,
                    Some(Item { value: Value::Array(items), .. })
                        if items
                            .iter()
                            .all(|i| matches!(&i.value, Value::Table(t) if t.header)) =>
                    {
                        items.push(Item { value: Value::Table(table), line })
                    }
                    Some(other) => {
                        return Err((
                            line,
                            format!(
                                "`[[{name}]]` conflicts with the key `{name}` defined on line {}",
                                other.line
                            ),
                        ));
                    }
                }
            } else {
                if let Some(other) = root.get(&name) {
                    return Err((
                        line,
                        format!("table `[{name}]` is defined twice (first on line {})", other.line),
                    ));
                }
                root.insert(
                    name.clone(),
                    line,
                    Item {
                        value: Value::Table(Table { line, header: true, ..Table::default() }),
                        line,
                    },
                )?;
            }
            current = Some((name, array));
            continue;
        }
        // key = value
        let key = p.key()?;
        p.skip_ws();
        if p.peek() == Some('.') {
            return Err((
                line,
                format!("dotted keys (`{key}.…`) are not supported in the layout file"),
            ));
        }
        p.expect('=')?;
        p.skip_ws();
        let value = p.value()?;
        p.end_of_line()?;
        let table = match &current {
            None => &mut root,
            Some((name, false)) => match root.get_mut(name) {
                Some(Item { value: Value::Table(t), .. }) => t,
                _ => unreachable!(),
            },
            Some((name, true)) => match root.get_mut(name) {
                Some(Item { value: Value::Array(items), .. }) => {
                    match &mut items.last_mut().unwrap().value {
                        Value::Table(t) => t,
                        _ => unreachable!(),
                    }
                }
                _ => unreachable!(),
            },
        };
        table.insert(key, line, value)?;
    }
    Ok(root)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
    }

    fn skip_comment(&mut self) {
        if self.peek() == Some('#') {
            while !matches!(self.peek(), None | Some('\n')) {
                self.pos += 1;
            }
        }
    }

    fn newline(&mut self) -> bool {
        match self.peek() {
            Some('\n') => {
                self.pos += 1;
                self.line += 1;
                true
            }
            Some('\r') if self.chars.get(self.pos + 1) == Some(&'\n') => {
                self.pos += 2;
                self.line += 1;
                true
            }
            _ => false,
        }
    }

    fn skip_ws_comments_newlines(&mut self) -> Result<(), ParseError> {
        loop {
            self.skip_ws();
            self.skip_comment();
            if !self.newline() {
                return Ok(());
            }
        }
    }

    fn end_of_line(&mut self) -> Result<(), ParseError> {
        self.skip_ws();
        self.skip_comment();
        if self.peek().is_none() || self.newline() {
            Ok(())
        } else {
            Err((
                self.line,
                format!("expected the end of the line, found `{}`", self.rest_of_token()),
            ))
        }
    }

    fn rest_of_token(&self) -> String {
        self.chars[self.pos..].iter().take_while(|c| !c.is_whitespace()).take(20).collect()
    }

    fn expect(&mut self, c: char) -> Result<(), ParseError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            let found = match self.peek() {
                None => "the end of the file".to_string(),
                Some('\n' | '\r') => "the end of the line".to_string(),
                Some(_) => format!("`{}`", self.rest_of_token()),
            };
            Err((self.line, format!("expected `{c}`, found {found}")))
        }
    }

    fn key(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(q @ ('"' | '\'')) => self.quoted_string(q),
            _ => {
                let start = self.pos;
                while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    self.pos += 1;
                }
                if start == self.pos {
                    let found = match self.peek() {
                        None => "the end of the file".to_string(),
                        Some(_) => format!("`{}`", self.rest_of_token()),
                    };
                    return Err((self.line, format!("expected a key, found {found}")));
                }
                Ok(self.chars[start..self.pos].iter().collect())
            }
        }
    }

    fn value(&mut self) -> Result<Item, ParseError> {
        let line = self.line;
        let value = match self.peek() {
            Some(q @ ('"' | '\'')) => {
                if self.chars[self.pos..].starts_with(&[q, q, q]) {
                    return Err((
                        line,
                        "multi-line strings are not supported in the layout file".into(),
                    ));
                }
                Value::Str(self.quoted_string(q)?)
            }
            Some('[') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws_comments_newlines()?;
                    if self.peek() == Some(']') {
                        self.pos += 1;
                        break;
                    }
                    items.push(self.value()?);
                    self.skip_ws_comments_newlines()?;
                    match self.peek() {
                        Some(',') => self.pos += 1,
                        Some(']') => {
                            self.pos += 1;
                            break;
                        }
                        None => {
                            return Err((
                                line,
                                "unterminated array: the `[` is never closed".into(),
                            ));
                        }
                        Some(_) => {
                            return Err((
                                self.line,
                                format!(
                                    "expected `,` or `]` in the array, found `{}`",
                                    self.rest_of_token()
                                ),
                            ));
                        }
                    }
                }
                Value::Array(items)
            }
            Some('{') => {
                self.pos += 1;
                let mut table = Table { line, ..Table::default() };
                self.skip_ws();
                if self.peek() == Some('}') {
                    self.pos += 1;
                } else {
                    loop {
                        self.skip_ws();
                        let kline = self.line;
                        let key = self.key()?;
                        self.skip_ws();
                        if self.peek() == Some('.') {
                            return Err((
                                kline,
                                format!(
                                    "dotted keys (`{key}.…`) are not supported in the layout file"
                                ),
                            ));
                        }
                        self.expect('=')?;
                        self.skip_ws();
                        let v = self.value()?;
                        table.insert(key, kline, v)?;
                        self.skip_ws();
                        match self.peek() {
                            Some(',') => self.pos += 1,
                            Some('}') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err((self.line, "expected `,` or `}` in the inline table (inline tables must fit on one line)".into())),
                        }
                    }
                }
                Value::Table(table)
            }
            Some(_) => self.scalar()?,
            None => return Err((line, "expected a value, found the end of the file".into())),
        };
        Ok(Item { value, line })
    }

    fn scalar(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '.' | ':'))
        {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        let line = self.line;
        let bad = |what: &str| Err((line, format!("invalid {what} `{word}`")));
        if word.is_empty() {
            return Err((line, format!("expected a value, found `{}`", self.rest_of_token())));
        }
        match word.as_str() {
            "true" => return Ok(Value::Bool(true)),
            "false" => return Ok(Value::Bool(false)),
            "inf" | "+inf" => return Ok(Value::Float(f64::INFINITY)),
            "-inf" => return Ok(Value::Float(f64::NEG_INFINITY)),
            "nan" | "+nan" | "-nan" => return Ok(Value::Float(f64::NAN)),
            _ => {}
        }
        if word.contains(':')
            || (word.len() >= 10
                && word.as_bytes().get(4) == Some(&b'-')
                && word[..4].bytes().all(|b| b.is_ascii_digit()))
        {
            return Err((
                line,
                format!("dates and times are not supported in the layout file (`{word}`)"),
            ));
        }
        if word.contains("__")
            || word.starts_with('_')
            || word.ends_with('_')
            || word.contains("_.")
            || word.contains("._")
        {
            return bad("number");
        }
        let clean: String = word.chars().filter(|&c| c != '_').collect();
        let (neg, body) = match clean.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
        };
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
            if let Some(digits) = body.strip_prefix(prefix) {
                if neg || clean.starts_with('+') {
                    return bad("integer");
                }
                return match i64::from_str_radix(digits, radix) {
                    Ok(v) if !digits.is_empty() && !digits.starts_with(['+', '-']) => {
                        Ok(Value::Int(v))
                    }
                    _ => bad("integer"),
                };
            }
        }
        if !body.starts_with(|c: char| c.is_ascii_digit()) {
            return bad("value");
        }
        let is_float = body.contains(['.', 'e', 'E']);
        if body.len() > 1 && body.starts_with('0') && body.as_bytes()[1].is_ascii_digit() {
            return bad("number (leading zeros are not allowed)");
        }
        if is_float {
            if body.contains(".e") || body.contains(".E") || body.ends_with('.') {
                return bad("float");
            }
            match clean.parse::<f64>() {
                Ok(v) => Ok(Value::Float(v)),
                Err(_) => bad("float"),
            }
        } else {
            match clean.parse::<i64>() {
                Ok(v) => Ok(Value::Int(v)),
                Err(_) if body.bytes().all(|b| b.is_ascii_digit()) => {
                    Err((line, format!("integer `{word}` is out of range")))
                }
                Err(_) => bad("value"),
            }
        }
    }

    /// A string quoted by `quote`: `"` (basic, with escapes) or `'` (literal, none).
    fn quoted_string(&mut self, quote: char) -> Result<String, ParseError> {
        let line = self.line;
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek() {
                None | Some('\n') | Some('\r') => return Err((line, "unterminated string".into())),
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some('\\') if quote == '"' => {
                    self.pos += 1;
                    let esc = self.peek();
                    self.pos += 1;
                    match esc {
                        Some('n') => s.push('\n'),
                        Some('t') => s.push('\t'),
                        Some('r') => s.push('\r'),
                        Some('b') => s.push('\u{8}'),
                        Some('f') => s.push('\u{c}'),
                        Some('e') => s.push('\u{1b}'),
                        Some('"') => s.push('"'),
                        Some('\\') => s.push('\\'),
                        Some(u @ ('u' | 'U')) => {
                            let n = if u == 'u' { 4 } else { 8 };
                            let hex: String = self
                                .chars
                                .get(self.pos..self.pos + n)
                                .map(|h| h.iter().collect())
                                .unwrap_or_default();
                            let c = u32::from_str_radix(&hex, 16)
                                .ok()
                                .filter(|_| hex.len() == n)
                                .and_then(char::from_u32);
                            match c {
                                Some(c) => s.push(c),
                                None => {
                                    return Err((
                                        line,
                                        format!(
                                            "invalid unicode escape `\\{u}{hex}` (must name a Unicode scalar value)"
                                        ),
                                    ));
                                }
                            }
                            self.pos += n;
                        }
                        other => {
                            return Err((
                                line,
                                format!(
                                    "invalid escape `\\{}` in a string",
                                    other.map(String::from).unwrap_or_default()
                                ),
                            ));
                        }
                    }
                }
                Some(c) => {
                    s.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}
