//! The two expression languages of a flow definition: node input expressions (a JSONPath into
//! the value arriving on a connection, `$.data`, `$.data.user.name`, `$.data.items[0]`) and
//! condition expressions (comparisons of a condition node's inputs and literals, joined by
//! `and`, `or`, `not`, in parentheses where needed: `score >= 0.5 and label == "spam"`).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// One step of a path: a member or an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A node input expression: the steps after `$.data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputPath {
    pub steps: Vec<Step>,
}

impl InputPath {
    /// Parses `$.data` followed by `.name`, `[n]` or `["name"]` steps.
    ///
    /// ```
    /// use mantle_flows::flow::expression::InputPath;
    /// let path = InputPath::parse("$.data.items[1].name")?;
    /// let value = serde_json::json!({"items": [{"name": "a"}, {"name": "b"}]});
    /// assert_eq!(path.apply(&value), Some(&serde_json::json!("b")));
    /// assert!(InputPath::parse("data.items").is_err());
    /// # Ok::<(), String>(())
    /// ```
    pub fn parse(expression: &str) -> Result<Self, String> {
        let rest = expression
            .strip_prefix("$.data")
            .ok_or_else(|| "an input expression starts with $.data".to_owned())?;
        let mut chars = Lexer::new(rest);
        let steps = chars.steps()?;
        if let Some(c) = chars.peek() {
            return Err(format!("unexpected `{c}` in the path"));
        }
        Ok(Self { steps })
    }

    /// The value at this path in `value`, if there is one.
    pub fn apply<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        walk(value, &self.steps)
    }
}

fn walk<'a>(mut value: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    for step in steps {
        value = match step {
            Step::Key(key) => value.get(key)?,
            Step::Index(i) => value.get(*i)?,
        };
    }
    Some(value)
}

/// A parsed condition expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Or(Box<Condition>, Box<Condition>),
    And(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
    Compare(Operand, Comparison, Operand),
    /// A bare operand: true when it is the boolean `true`.
    Truth(Operand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Literal(Value),
    /// A node input by name, with steps into its value.
    Input {
        name: String,
        steps: Vec<Step>,
    },
}

/// An evaluation that cannot go on: the inputs are not what the expression compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError(pub String);

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Condition {
    /// Parses a condition expression.
    ///
    /// ```
    /// use mantle_flows::flow::expression::Condition;
    /// let condition = Condition::parse(r#"score >= 0.5 and not (label == "ham")"#)?;
    /// let inputs = [("score".to_owned(), serde_json::json!(0.7)), ("label".to_owned(), serde_json::json!("spam"))].into();
    /// assert_eq!(condition.eval(&inputs), Ok(true));
    /// assert_eq!(condition.inputs(), vec!["score", "label"]);
    /// # Ok::<(), String>(())
    /// ```
    pub fn parse(expression: &str) -> Result<Self, String> {
        let mut lexer = Lexer::new(expression);
        let condition = lexer.or()?;
        lexer.skip_space();
        match lexer.peek() {
            None => Ok(condition),
            Some(c) => Err(format!("unexpected `{c}` after the expression")),
        }
    }

    /// The input names the expression reads, in order of first use.
    pub fn inputs(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.collect(&mut names);
        names
    }

    fn collect<'a>(&'a self, names: &mut Vec<&'a str>) {
        let mut operand = |o: &'a Operand| {
            if let Operand::Input { name, .. } = o
                && !names.contains(&name.as_str())
            {
                names.push(name);
            }
        };
        match self {
            Self::Or(a, b) | Self::And(a, b) => {
                a.collect(names);
                b.collect(names);
            }
            Self::Not(a) => a.collect(names),
            Self::Compare(a, _, b) => {
                operand(a);
                operand(b);
            }
            Self::Truth(a) => operand(a),
        }
    }

    /// Evaluates the expression over the node's input values.
    pub fn eval(&self, inputs: &BTreeMap<String, Value>) -> Result<bool, EvalError> {
        match self {
            Self::Or(a, b) => Ok(a.eval(inputs)? || b.eval(inputs)?),
            Self::And(a, b) => Ok(a.eval(inputs)? && b.eval(inputs)?),
            Self::Not(a) => Ok(!a.eval(inputs)?),
            Self::Truth(a) => Ok(resolve(a, inputs)? == Value::Bool(true)),
            Self::Compare(a, op, b) => compare(&resolve(a, inputs)?, *op, &resolve(b, inputs)?),
        }
    }
}

fn resolve(operand: &Operand, inputs: &BTreeMap<String, Value>) -> Result<Value, EvalError> {
    match operand {
        Operand::Literal(value) => Ok(value.clone()),
        Operand::Input { name, steps } => {
            let value = inputs
                .get(name)
                .ok_or_else(|| EvalError(format!("the input {name} has no value")))?;
            Ok(walk(value, steps).cloned().unwrap_or(Value::Null))
        }
    }
}

fn compare(a: &Value, op: Comparison, b: &Value) -> Result<bool, EvalError> {
    use std::cmp::Ordering;
    let ordering = match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    };
    match (op, ordering) {
        (Comparison::Eq, Some(o)) => Ok(o == Ordering::Equal),
        (Comparison::Ne, Some(o)) => Ok(o != Ordering::Equal),
        (Comparison::Eq, None) => Ok(a == b),
        (Comparison::Ne, None) => Ok(a != b),
        (Comparison::Lt, Some(o)) => Ok(o == Ordering::Less),
        (Comparison::Le, Some(o)) => Ok(o != Ordering::Greater),
        (Comparison::Gt, Some(o)) => Ok(o == Ordering::Greater),
        (Comparison::Ge, Some(o)) => Ok(o != Ordering::Less),
        (_, None) => Err(EvalError(format!(
            "cannot order {} and {}",
            kind(a),
            kind(b)
        ))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

struct Lexer<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, at: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        Some(c)
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.rest().starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    /// A keyword, only where a whole word: `or` does not start `order`.
    fn keyword(&mut self, word: &str) -> bool {
        self.skip_space();
        let rest = self.rest();
        let whole = rest.starts_with(word)
            && !rest[word.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if whole {
            self.at += word.len();
        }
        whole
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut left = self.not()?;
        while self.keyword("and") {
            left = Condition::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Condition, String> {
        if self.keyword("not") {
            return Ok(Condition::Not(Box::new(self.not()?)));
        }
        if self.eat("(") {
            let inner = self.or()?;
            if !self.eat(")") {
                return Err("a `(` is not closed".into());
            }
            return Ok(inner);
        }
        let left = self.operand()?;
        let op = if self.eat("==") {
            Comparison::Eq
        } else if self.eat("!=") {
            Comparison::Ne
        } else if self.eat("<=") {
            Comparison::Le
        } else if self.eat(">=") {
            Comparison::Ge
        } else if self.eat("<") {
            Comparison::Lt
        } else if self.eat(">") {
            Comparison::Gt
        } else {
            return Ok(Condition::Truth(left));
        };
        let right = self.operand()?;
        Ok(Condition::Compare(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_space();
        match self.peek() {
            None => Err("the expression ends where a value was expected".into()),
            Some('"' | '\'') => Ok(Operand::Literal(Value::String(self.string()?))),
            Some(c) if c.is_ascii_digit() || c == '-' => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let name = self.name();
                match name.as_str() {
                    "true" => Ok(Operand::Literal(Value::Bool(true))),
                    "false" => Ok(Operand::Literal(Value::Bool(false))),
                    "null" => Ok(Operand::Literal(Value::Null)),
                    "and" | "or" | "not" => Err(format!("`{name}` where a value was expected")),
                    _ => Ok(Operand::Input {
                        name,
                        steps: self.steps()?,
                    }),
                }
            }
            Some(c) => Err(format!("unexpected `{c}` where a value was expected")),
        }
    }

    fn name(&mut self) -> String {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.bump();
        }
        self.text[start..self.at].to_owned()
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = self.bump().unwrap_or('"');
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err("a string is not closed".into()),
                Some('\\') => match self.bump() {
                    Some(c) => out.push(c),
                    None => return Err("a string is not closed".into()),
                },
                Some(c) if c == quote => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn number(&mut self) -> Result<Operand, String> {
        let start = self.at;
        if self.peek() == Some('-') {
            self.bump();
        }
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+'))
        {
            self.bump();
        }
        let text = &self.text[start..self.at];
        serde_json::from_str::<serde_json::Number>(text)
            .map(|n| Operand::Literal(Value::Number(n)))
            .map_err(|_| format!("`{text}` is not a number"))
    }

    /// `.name`, `[n]`, `["name"]` steps.
    fn steps(&mut self) -> Result<Vec<Step>, String> {
        let mut steps = Vec::new();
        loop {
            match self.peek() {
                Some('.') => {
                    self.bump();
                    let name = self.name();
                    if name.is_empty() {
                        return Err("a `.` is not followed by a name".into());
                    }
                    steps.push(Step::Key(name));
                }
                Some('[') => {
                    self.bump();
                    self.skip_space();
                    let step =
                        match self.peek() {
                            Some('"' | '\'') => Step::Key(self.string()?),
                            _ => {
                                let start = self.at;
                                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                                    self.bump();
                                }
                                let digits = &self.text[start..self.at];
                                Step::Index(digits.parse().map_err(|_| {
                                    "a `[` holds an index or a quoted name".to_owned()
                                })?)
                            }
                        };
                    if !self.eat("]") {
                        return Err("a `[` is not closed".into());
                    }
                    steps.push(step);
                }
                _ => return Ok(steps),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inputs(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn input_paths() {
        let value = json!({"a": {"b c": [1, {"d": true}]}});
        let path = InputPath::parse(r#"$.data.a["b c"][1].d"#).unwrap();
        assert_eq!(path.apply(&value), Some(&json!(true)));
        assert_eq!(
            InputPath::parse("$.data").unwrap().apply(&value),
            Some(&value)
        );
        assert_eq!(InputPath::parse("$.data.zz").unwrap().apply(&value), None);
        for bad in ["$.dat", "$.data.", "$.data[", "$.data[x]", "$.data x"] {
            assert!(InputPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn conditions_compare_and_combine() {
        let values = inputs(&[
            ("n", json!(3)),
            ("s", json!("abc")),
            ("o", json!({"k": [5]})),
        ]);
        for (expression, expected) in [
            ("n > 2", true),
            ("n >= 3 and n <= 3", true),
            ("n == 3.0", true),
            ("s == 'abc' or n < 0", true),
            ("not s != \"abc\"", true),
            ("o.k[0] > 4", true),
            ("(n < 0 or n > 5) and s == 'abc'", false),
            ("o.missing == null", true),
        ] {
            let condition = Condition::parse(expression).unwrap();
            assert_eq!(condition.eval(&values), Ok(expected), "{expression}");
        }
        assert!(Condition::parse("s > 1").unwrap().eval(&values).is_err());
        for bad in ["n >", "(n > 1", "n > 1 n", "and", "n === 1", "'open"] {
            assert!(Condition::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Condition::parse("order > 1 or ordinal").unwrap().inputs(),
            vec!["order", "ordinal"]
        );
    }
}
